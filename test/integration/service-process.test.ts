import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../harness/run-command.js';
import { freePort, runSlipway, type ServiceProcess, waitForStatus } from '../support/service-process.js';

async function stopAndTime(service: ServiceProcess) {
  const started = Date.now();
  service.child.kill('SIGTERM');
  const result = await service.exited;
  return { ...result, elapsed: Date.now() - started };
}

describe('the service as a real process on the embedded database', () => {
  const dirs: string[] = [];
  /** Every process a test started: a test that fails half-way leaves none running. */
  const started: ServiceProcess[] = [];
  const start = (args: string[], env: Record<string, string>): ServiceProcess => {
    const service = runSlipway(args, env);
    started.push(service);
    return service;
  };
  afterAll(async () => {
    for (const service of started) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('starts on an empty data folder, keeps its data across a restart, and stops cleanly on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-service-'));
    dirs.push(dataDir);
    const port = await freePort();
    const pgPort = await freePort();
    const env = { SLIPWAY_DATA_DIR: dataDir, PORT: String(port), SLIPWAY_EMBEDDED_PG_PORT: String(pgPort) };

    const first = start(['start'], env);
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 60_000, first);
    // Its listening socket holds a burst of new connections (cron jobs at :00), not Node's 511.
    const somaxconn = Number((await readFile('/proc/sys/net/core/somaxconn', 'utf8')).trim());
    const listening = await runCommand('ss', ['-ltnH', `sport = :${port}`]);
    const backlog = Number(listening.trim().split(/\s+/)[2]);
    expect(backlog, listening).toBe(Math.min(8192, somaxconn));
    expect(first.output()).toContain(`data in ${join(dataDir, 'postgres')}`);
    expect(first.output()).toMatch(/SLIPWAY_SECRET_KEY is not set: generated one/);
    expect((await stat(join(dataDir, 'secret.key'))).mode & 0o777).toBe(0o600);
    // The Quick start stays one step: a one-time sign-in link for the first admin.
    const link = /Web console: sign in as web:local:admin [^:]*: (http\S+#sign-in=[A-Za-z0-9_-]{43})/.exec(
      first.output(),
    )?.[1];
    expect(link, first.output()).toBeDefined();
    const signIn = await fetch(`http://127.0.0.1:${port}/console/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
      body: JSON.stringify({ token: link!.split('#sign-in=')[1] }),
    });
    expect(await signIn.json()).toEqual({ user: 'web:local:admin', name: 'admin' });
    const key = await readFile(join(dataDir, 'secret.key'), 'utf8');

    // Something a user would have made: a row in the embedded database.
    const password = (await readFile(join(dataDir, 'postgres.password'), 'utf8')).trim();
    const url = `postgres://slipway:${password}@127.0.0.1:${pgPort}/slipway`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      "insert into members (id, display_name) values ('00000000-0000-4000-8000-000000000001', 'Grace')",
    );
    await client.end();

    const firstStop = await stopAndTime(first);
    expect(firstStop.code).toBe(0);
    expect(firstStop.elapsed).toBeLessThan(5000);

    const second = start(['start'], env);
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 60_000, second);
    expect(second.output()).toContain('database schema up to date');
    expect(second.output()).not.toMatch(/generated one/);
    expect(await readFile(join(dataDir, 'secret.key'), 'utf8')).toBe(key);
    const again = new pg.Client({ connectionString: url });
    await again.connect();
    const rows = await again.query('select display_name from members');
    await again.end();
    // Grace, and the admin who signed in to the console.
    expect(rows.rows).toHaveLength(2);
    expect(rows.rows).toEqual(expect.arrayContaining([{ display_name: 'admin' }, { display_name: 'Grace' }]));

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(metrics).not.toMatch(/slipway_process_/);
    expect(metrics).toMatch(/slipway_http_requests_total\{method="GET",route="\/readyz",status="200"\}/);

    const secondStop = await stopAndTime(second);
    expect(secondStop.code).toBe(0);
    expect(secondStop.elapsed).toBeLessThan(5000);
    // The embedded PostgreSQL went down with it.
    await expect(readFile(join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow(/ENOENT/);
  });

  // Issue 14, item 16: root in a fresh VM or container, the checkout in a home of mode 0700. The
  // embedded PostgreSQL runs as the OS user postgres, which cannot enter that home.
  it.runIf(process.getuid?.() === 0)(
    'as root, starts with its data folder inside a home of mode 0700, and keeps its data',
    async () => {
      const home = await mkdtemp(join(tmpdir(), 'slipway-home-'));
      dirs.push(home);
      await chmod(home, 0o700);
      const dataDir = join(home, 'checkout', '.slipway');
      await mkdir(join(home, 'checkout'), { mode: 0o755 });
      const port = await freePort();
      const pgPort = await freePort();
      const env = { SLIPWAY_DATA_DIR: dataDir, PORT: String(port), SLIPWAY_EMBEDDED_PG_PORT: String(pgPort) };

      const first = start(['start'], env);
      await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 60_000, first);
      // The cluster lives where postgres can reach it, linked from the data folder.
      const link = join(dataDir, 'postgres');
      expect((await lstat(link)).isSymbolicLink(), first.output()).toBe(true);
      const cluster = await readlink(link);
      dirs.push(join(cluster, '..'));
      expect(first.output(), first.output()).toContain(cluster);
      const password = (await readFile(join(dataDir, 'postgres.password'), 'utf8')).trim();
      const url = `postgres://slipway:${password}@127.0.0.1:${pgPort}/slipway`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(
        "insert into members (id, display_name) values ('00000000-0000-4000-8000-000000000002', 'Ada')",
      );
      await client.end();
      const firstStop = await stopAndTime(first);
      expect(firstStop.code, first.output()).toBe(0);

      const second = start(['start'], env);
      await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 60_000, second);
      const again = new pg.Client({ connectionString: url });
      await again.connect();
      expect((await again.query('select display_name from members')).rows, second.output()).toEqual([
        { display_name: 'Ada' },
      ]);
      await again.end();
      const secondStop = await stopAndTime(second);
      expect(secondStop.code, second.output()).toBe(0);
      // The home itself was left as it was.
      expect((await stat(home)).mode & 0o777).toBe(0o700);
    },
    120_000,
  );

  it('exits non-zero with a message naming the bad variable', async () => {
    const bad = start(['start'], { PORT: 'abc' });
    const result = await bad.exited;
    expect(result.code).not.toBe(0);
    expect(bad.output()).toMatch(/PORT: must be a number/);

    const shortKey = start(['start'], { SLIPWAY_SECRET_KEY: Buffer.alloc(16).toString('base64') });
    expect((await shortKey.exited).code).not.toBe(0);
    expect(shortKey.output()).toMatch(/SLIPWAY_SECRET_KEY: must be 32 random bytes/);
  });

  it('prints its commands and every setting with --help', async () => {
    const help = start(['--help'], {});
    expect((await help.exited).code).toBe(0);
    expect(help.output()).toMatch(/DATABASE_URL/);
    expect(help.output()).toMatch(/migration:check/);
  });
});
