import { spawn } from 'node:child_process';
import { SlipwayError } from '../../errors.js';
import { ExecSupervisor } from './exec-supervisor.js';
import {
  type ExecOptions,
  type ExecResult,
  SCRIPT_READER,
  scriptMessage,
  type Transport,
} from './transport.js';

/**
 * Variables a local command inherits from Slipway's own process. Everything else (database
 * URL, the secret key, chat tokens) stays out of reach of hooks and install commands.
 */
const INHERITED_VARIABLES = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
];

export interface LocalTransportOptions {
  label: string;
  /** Extra variables for the commands. */
  env?: Record<string, string>;
}

/**
 * Runs scripts with bash (SCRIPT_READER) on the Slipway host itself, for the demo and single-host setups.
 * Same contract as SshTransport: each command in its own process group, so a cancel kills
 * everything it started.
 */
export class LocalTransport implements Transport {
  readonly label: string;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: LocalTransportOptions) {
    this.label = options.label;
  }

  async connect(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new SlipwayError('cancelled', `Connecting to ${this.label} was cancelled.`);
  }

  exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const run = () => this.run(script, options);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of INHERITED_VARIABLES) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return { ...env, ...this.options.env };
  }

  private async run(script: string, options: ExecOptions): Promise<ExecResult> {
    // A local bash starts in a few milliseconds: nothing to open ahead of the gate.
    if (options.gate) await options.gate;
    return this.start(script, options);
  }

  private start(script: string, options: ExecOptions): Promise<ExecResult> {
    if (this.closed)
      return Promise.reject(new SlipwayError('command_failed', `${this.label} is already closed.`));
    if (options.signal?.aborted) {
      return Promise.reject(new SlipwayError('cancelled', `The command on ${this.label} was stopped.`));
    }
    const supervisor = new ExecSupervisor(this.label, options);
    // detached: the child leads a new process group, which is what we kill.
    const child = spawn('bash', ['--norc', '--noprofile', '-c', SCRIPT_READER], {
      detached: true,
      env: this.environment(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.on('error', (error) =>
      supervisor.failed(
        new SlipwayError(
          'command_failed',
          `Could not start bash on ${this.label}: ${error.message}.`,
          undefined,
          {
            cause: error,
          },
        ),
      ),
    );
    child.stdout.on('data', (data: Buffer) => supervisor.stdout(data));
    child.stderr.on('data', (data: Buffer) => supervisor.stderr(data));
    child.on('exit', (code, signal) => supervisor.exited(code, signal));
    child.on('close', () => supervisor.closed());
    child.stdin.on('error', () => undefined);
    supervisor.attach({
      kill: async () => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      },
      forceClose: () => {
        child.stdout.destroy();
        child.stderr.destroy();
        supervisor.closed();
      },
    });
    child.stdin.end(scriptMessage(script));
    return supervisor.result;
  }
}
