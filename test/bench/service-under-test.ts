import { spawn } from 'node:child_process';
import type { ServiceProcess } from '../support/service-process.js';

const HERE = new URL('../..', import.meta.url).pathname;

/**
 * `slipway start` as `npm start` runs it (same Node flags), in a child process, from this
 * checkout or from `root` (another checkout: how a "before" is measured).
 */
export function startService(options: {
  root?: string | undefined;
  env: Record<string, string>;
}): ServiceProcess {
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=64', '--import', 'tsx', 'src/cli.ts', 'start'],
    {
      cwd: options.root ?? HERE,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOG_FORMAT: 'json',
        ...options.env,
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
