import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Readable } from 'node:stream';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface ServiceProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `slipway <args>` from the sources in a child process, with only the given settings; from
 * another checkout with `root`, and with extra Node flags with `nodeArgs`.
 */
export function runSlipway(
  args: string[],
  env: Record<string, string>,
  options: { root?: string | undefined; nodeArgs?: readonly string[] } = {},
): ServiceProcess {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/cli.ts', ...args],
    {
      cwd: options.root ?? ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOG_FORMAT: 'json',
        // The stand-ins a child posts to listen on loopback (the default refuses it).
        SLIPWAY_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

export async function waitForStatus(
  url: string,
  status: number,
  timeoutMs: number,
  process?: ServiceProcess,
) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (process && process.child.exitCode !== null) {
      throw new Error(`service exited early (${process.child.exitCode}):\n${process.output()}`);
    }
    try {
      const response = await fetch(url);
      last = `${response.status} ${await response.text()}`;
      if (response.status === status) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})\n${process?.output() ?? ''}`,
  );
}

/** Ports freePort has handed out in this process: two servers started at once never get the same one. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on now, and that this process has not been given before: the port is
 * free only until someone binds it, and callers that start several servers (sshd hosts, replicas)
 * probe them all before any binds.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() =>
          typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
        );
      });
    });
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}
