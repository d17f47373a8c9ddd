import { constants } from 'node:os';
import { SlipwayError } from '../../errors.js';
import type { ExecOptions, ExecResult } from './transport.js';
import { TRANSPORT_OUTPUT_CAP } from './transport.js';

/** After the command exits, how long to wait for its output streams to close (a daemon it started may hold them). */
const DRAIN_AFTER_EXIT_MS = 2000;

export interface SupervisedProcess {
  /** Kill the command and everything it started; resolves once the kill was delivered (or gave up). */
  kill(): Promise<void>;
  /** Stop waiting for the streams and release them. */
  forceClose(): void;
}

/**
 * The bookkeeping both transports share for one running command: decoding and capping output,
 * the timeout and the abort signal (both end in a kill of the whole process tree), and turning
 * exit/close events into one result or one SlipwayError.
 */
export class ExecSupervisor {
  readonly result: Promise<ExecResult>;
  private resolve!: (result: ExecResult) => void;
  private reject!: (error: unknown) => void;
  private readonly stdoutDecoder = new TextDecoder();
  private readonly stderrDecoder = new TextDecoder();
  private output = '';
  private exitCode: number | null = null;
  private exitSignal: string | null = null;
  private stopping: 'cancelled' | 'timeout' | null = null;
  private settled = false;
  private timer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private process: SupervisedProcess | null = null;
  private readonly onAbort = () => this.stop('cancelled');

  constructor(
    private readonly label: string,
    private readonly options: ExecOptions,
  ) {
    this.result = new Promise<ExecResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Start watching the signal and the clock; call once the command is running. */
  attach(process: SupervisedProcess): void {
    this.process = process;
    const { signal, timeoutMs } = this.options;
    if (signal?.aborted) {
      this.stop('cancelled');
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs > 0)
      this.timer = setTimeout(() => this.stop('timeout'), timeoutMs);
  }

  stdout(data: Buffer): void {
    this.emit(this.stdoutDecoder.decode(data, { stream: true }));
  }

  stderr(data: Buffer): void {
    this.emit(this.stderrDecoder.decode(data, { stream: true }));
  }

  /** Text that did not come from the streams (e.g. what the SSH transport held back). */
  text(text: string): void {
    this.emit(text);
  }

  exited(code: number | null, signal: string | null): void {
    this.exitCode = code;
    this.exitSignal = signal;
    this.drainTimer ??= setTimeout(() => this.process?.forceClose(), DRAIN_AFTER_EXIT_MS);
  }

  closed(): void {
    this.emit(this.stdoutDecoder.decode() + this.stderrDecoder.decode());
    if (this.stopping) {
      const output = this.output;
      const message =
        this.stopping === 'timeout'
          ? `The command on ${this.label} did not finish within ${Math.round((this.options.timeoutMs ?? 0) / 1000)} s and was stopped.`
          : `The command on ${this.label} was stopped.`;
      this.settle(() => this.reject(new SlipwayError(this.stopping!, message, { output })));
      return;
    }
    if (this.exitCode === null && this.exitSignal === null) {
      this.settle(() =>
        this.reject(
          new SlipwayError(
            'ssh_failed',
            `The connection to ${this.label} was lost while a command was running.`,
            {
              output: this.output,
            },
          ),
        ),
      );
      return;
    }
    const code = this.exitCode ?? 128 + signalNumber(this.exitSignal);
    this.settle(() => this.resolve({ exitCode: code, output: this.output }));
  }

  /** The command could not be started at all. */
  failed(error: unknown): void {
    this.settle(() => this.reject(error));
  }

  private stop(reason: 'cancelled' | 'timeout'): void {
    if (this.stopping || this.settled || !this.process) return;
    this.stopping = reason;
    const process = this.process;
    void process.kill().finally(() => process.forceClose());
  }

  private emit(text: string): void {
    if (text.length === 0 || this.settled) return;
    this.output += text;
    if (this.output.length > TRANSPORT_OUTPUT_CAP * 2) this.output = this.output.slice(-TRANSPORT_OUTPUT_CAP);
    this.options.onOutput?.(text);
  }

  private settle(finish: () => void): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.output.length > TRANSPORT_OUTPUT_CAP) this.output = this.output.slice(-TRANSPORT_OUTPUT_CAP);
    finish();
  }
}

function signalNumber(name: string | null): number {
  if (!name) return 0;
  const key = `SIG${name.replace(/^SIG/, '')}` as keyof typeof constants.signals;
  return constants.signals[key] ?? 0;
}
