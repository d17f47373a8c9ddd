import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, fstatSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fingerprintOfPublicKeyLine } from '../../src/engine/fingerprint.js';
import { generateProjectKeyPair } from '../../src/engine/keys.js';
import type { PlanServer } from '../../src/engine/plan.js';
import { freePort } from '../support/service-process.js';
import { runCommand } from './run-command.js';

/**
 * Real OpenSSH servers on 127.0.0.1 for tests and benchmarks: one `sshd -D` per "host", each
 * with its own config, host key, pid file, log and deploy root; key-only login.
 *
 * Login user: as root we log in as a dedicated user `slipwaytest` with an empty home, not as
 * root. Every command run over SSH starts the login shell, and bash started by sshd reads
 * ~/.bashrc — on these machines /root/.bashrc runs `pyenv init`, ≈ 0.3 s per command, which
 * would swamp every measurement. (Measured here: `ssh … true` 0.22 s as root, 0.13 s as
 * slipwaytest.) Without root, sshd can only log in its own user, so we use that.
 */

export const SSHD_PATH = process.env.SLIPWAY_SSHD ?? '/usr/sbin/sshd';
export const TEST_USER = 'slipwaytest';
const START_TIMEOUT_MS = 10_000;

export interface SshHost {
  index: number;
  host: string;
  port: number;
  /** This host's own deploy root (owned by the login user). */
  deployPath: string;
  /** `SHA256:…` of the current host key. */
  hostKeyFingerprint: string;
  logPath: string;
  /** A plan server for this host; `subPath` gives each test its own folder under the deploy root. */
  server(options?: { subPath?: string; pin?: boolean; id?: string }): PlanServer;
  stop(): Promise<void>;
}

export interface SshHosts {
  hosts: SshHost[];
  /** The user the hosts accept. */
  user: string;
  clientPrivateKey: string;
  clientPublicKey: string;
  /** Files for the `ssh` command line (benchmark floor). */
  clientKeyPath: string;
  knownHostsPath: string;
  stopAll(): Promise<void>;
  /** Restart host `index` with a freshly generated host key; returns the new fingerprint. */
  restartHostWithNewKey(index: number): Promise<string>;
}

export function sshdAvailable(): boolean {
  return existsSync(SSHD_PATH);
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Create the login user once (idempotent, safe against parallel test files). */
async function ensureLoginUser(): Promise<string> {
  if (!isRoot()) return userInfo().username;
  const exists = () =>
    runCommand('id', ['-u', TEST_USER]).then(
      () => true,
      () => false,
    );
  if (!(await exists())) {
    const home = `/home/${TEST_USER}`;
    await runCommand('useradd', [
      '--no-create-home',
      '--home-dir',
      home,
      '--shell',
      '/bin/bash',
      TEST_USER,
    ]).catch(async (error: unknown) => {
      if (!(await exists())) throw error;
    });
    await mkdir(home, { recursive: true });
    await runCommand('chown', [`${TEST_USER}:`, home]);
  }
  // A locked password ("!") makes sshd without PAM refuse the account even for key logins; "*" is "no password".
  await runCommand('usermod', ['-p', '*', TEST_USER]);
  return TEST_USER;
}

/**
 * Resolves when this sshd says it listens on the port and the port answers with an SSH banner.
 * The banner alone is not enough: when another process (another sshd) holds the port, it is that
 * one that answers, while ours fails to bind and exits; a test would then talk to a host with
 * another host's key and files.
 */
async function waitForListening(
  port: number,
  child: ChildProcess,
  logPath: string,
  logFrom: number,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const listening = `Server listening on 127.0.0.1 port ${port}.`;
  while (Date.now() < deadline) {
    // Only what this sshd wrote: a restarted host appends to the log of the one before.
    const log = (await readFile(logPath).catch(() => Buffer.alloc(0))).subarray(logFrom).toString('utf8');
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `sshd exited with ${child.exitCode ?? child.signalCode} while starting on port ${port}:\n${log}`,
      );
    }
    if (log.includes(listening) && (await answersWithBanner(port))) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`sshd did not answer on port ${port} within ${START_TIMEOUT_MS} ms`);
}

function answersWithBanner(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString('latin1').startsWith('SSH-'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function sshdConfig(dir: string, port: number, user: string): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `AllowUsers ${user}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // Our temp folders are not owned the way StrictModes wants; they are throwaway anyway.
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'PrintMotd no',
    'UseDNS no',
    '',
  ].join('\n');
}

/** Every sshd we started, so they die with this process even when a test forgets to stop them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function startSshd(dir: string, port: number): Promise<ChildProcess> {
  const logPath = join(dir, 'sshd.log');
  const log = openSync(logPath, 'a');
  const logFrom = fstatSync(log).size;
  const child = spawn(SSHD_PATH, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', log, log],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  try {
    await waitForListening(port, child, logPath, logFrom);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return child;
}

async function stopSshd(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function generateHostKey(dir: string): Promise<string> {
  const keyPath = join(dir, 'ssh_host_ed25519_key');
  await rm(keyPath, { force: true });
  await rm(`${keyPath}.pub`, { force: true });
  await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-test-host', '-f', keyPath]);
  return (await readFile(`${keyPath}.pub`, 'utf8')).trim();
}

/**
 * Start `count` sshd hosts. Throws a clear error when OpenSSH's sshd is not installed
 * (apt-get install openssh-server); there is no fake fallback.
 */
export async function startSshHosts(count: number): Promise<SshHosts> {
  if (!sshdAvailable()) {
    throw new Error(
      `OpenSSH sshd was not found at ${SSHD_PATH}. Install it (apt-get install openssh-server) or set SLIPWAY_SSHD; ` +
        'outside CI (CI=true) the SSH suites skip themselves when sshd is missing.',
    );
  }
  if (isRoot()) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const user = await ensureLoginUser();
  const base = await mkdtemp(join(tmpdir(), 'slipway-sshd-'));
  await chmod(base, 0o755);
  const client = generateProjectKeyPair('tests');
  const clientKeyPath = join(base, 'client_ed25519');
  await writeFile(clientKeyPath, client.privateKey, { mode: 0o600 });
  const knownHostsPath = join(base, 'known_hosts');
  const { uid, gid } = isRoot() ? await userIds(user) : { uid: -1, gid: -1 };

  interface HostState {
    host: SshHost;
    dir: string;
    child: ChildProcess;
    publicKey: string;
  }
  const states: HostState[] = [];

  const writeKnownHosts = () =>
    writeFile(
      knownHostsPath,
      states.map((state) => `[127.0.0.1]:${state.host.port} ${state.publicKey}\n`).join(''),
    );

  const launch = async (dir: string, fixedPort?: number): Promise<{ child: ChildProcess; port: number }> => {
    // A free port can be taken between probing and binding; try a few.
    for (let attempt = 0; ; attempt++) {
      const port = fixedPort ?? (await freePort());
      await writeFile(join(dir, 'sshd_config'), sshdConfig(dir, port, user));
      try {
        return { child: await startSshd(dir, port), port };
      } catch (error) {
        if (fixedPort !== undefined || attempt >= 4) throw error;
      }
    }
  };

  await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const dir = join(base, `host-${index}`);
      const deployPath = join(dir, 'deploy');
      await mkdir(deployPath, { recursive: true });
      await chmod(dir, 0o755);
      if (isRoot()) await chown(deployPath, uid, gid);
      await writeFile(join(dir, 'authorized_keys'), `${client.publicKey}\n`, { mode: 0o644 });
      const publicKey = await generateHostKey(dir);
      const { child, port } = await launch(dir);
      const host: SshHost = {
        index,
        host: '127.0.0.1',
        port,
        deployPath,
        hostKeyFingerprint: fingerprintOfPublicKeyLine(publicKey),
        logPath: join(dir, 'sshd.log'),
        server: (options = {}) => ({
          id: options.id ?? `host-${index}`,
          name: `host-${index}`,
          host: '127.0.0.1',
          port: host.port,
          user,
          deployPath: options.subPath ? join(deployPath, options.subPath) : deployPath,
          transport: 'ssh',
          hostKeyFingerprint: options.pin === false ? null : host.hostKeyFingerprint,
        }),
        // `state` is assigned below, before anyone can call this.
        stop: () => stopSshd(state.child),
      };
      const state: HostState = { dir, child, publicKey, host };
      states[index] = state;
    }),
  );
  await writeKnownHosts();

  return {
    hosts: states.map((state) => state.host),
    user,
    clientPrivateKey: client.privateKey,
    clientPublicKey: client.publicKey,
    clientKeyPath,
    knownHostsPath,
    stopAll: async () => {
      await Promise.all(states.map((state) => stopSshd(state.child)));
      await rm(base, { recursive: true, force: true });
    },
    restartHostWithNewKey: async (index) => {
      const state = states[index];
      if (!state) throw new Error(`no host ${index}`);
      await stopSshd(state.child);
      state.publicKey = await generateHostKey(state.dir);
      state.child = (await launch(state.dir, state.host.port)).child;
      state.host.hostKeyFingerprint = fingerprintOfPublicKeyLine(state.publicKey);
      await writeKnownHosts();
      return state.host.hostKeyFingerprint;
    },
  };
}

async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await runCommand('id', ['-u', user])).trim());
  const gid = Number((await runCommand('id', ['-g', user])).trim());
  return { uid, gid };
}
