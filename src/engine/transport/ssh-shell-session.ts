import type { ClientChannel } from 'ssh2';
import { newNonce } from '../step-markers.js';
import type { ExecSupervisor } from './exec-supervisor.js';
import { scriptMessage } from './transport.js';

/** How long a close (of a session, or of the connection) may take to be acknowledged before we stop waiting for it. */
export const CLOSE_TIMEOUT_MS = 2000;

/**
 * One long-lived bash on a server, on one SSH session, running the scripts of a transport one
 * after another: opening a session costs the server a fork, a login shell and a bash, and the
 * client two round trips (about 5 ms of CPU per server per session, measured with 20 hosts on
 * loopback), and a deploy used to open one for its prepare script and another for its
 * activation. Each script runs in a subshell of the loop, with stdin from /dev/null, so nothing
 * of one script (its directory, variables, `exit`) reaches the next; after it, the loop prints
 * the script's exit code behind a token that only that script's message carried.
 *
 * A kill (cancel, timeout) takes the whole process group, the loop with it: the session is then
 * spent, and the transport opens a new one for its next script.
 */
export class SshShellSession {
  private current: { supervisor: ExecSupervisor; scanner: ExitScanner } | null = null;
  private processGroup: number | null = null;
  private firstLine: Buffer | null = Buffer.alloc(0);
  private spent = false;

  constructor(
    private readonly channel: ClientChannel,
    private readonly killProcessGroup: (processGroup: number) => Promise<void>,
  ) {
    channel.on('data', (data: Buffer) => this.stdout(data));
    channel.stderr.on('data', (data: Buffer) => this.current?.supervisor.stderr(data));
    // The loop only ends when it is killed or its stdin ends: whatever runs is over.
    channel.on('exit', (code: number | null, signal?: string) => {
      this.spent = true;
      this.current?.supervisor.exited(code, signal ?? null);
    });
    channel.on('close', () => {
      this.spent = true;
      const running = this.current;
      this.current = null;
      running?.supervisor.closed();
    });
    channel.on('error', () => undefined);
  }

  /** False once the loop has ended or was killed: the transport opens a new session. */
  get usable(): boolean {
    return !this.spent;
  }

  /** Run `script` (once `gate` resolves, when given); its result arrives through `supervisor`. */
  run(script: string, supervisor: ExecSupervisor, gate?: Promise<unknown>): void {
    const start = () => {
      if (this.spent) {
        supervisor.closed();
        return;
      }
      const token = `::slipway-exit-${newNonce()}`;
      this.current = { supervisor, scanner: new ExitScanner(token) };
      supervisor.attach({
        kill: async () => {
          this.spent = true;
          // OpenSSH (7.9+) delivers a channel signal with killpg(), reaching bash and everything
          // it started. Servers that ignore signal requests get the same from a second session
          // that kills the process group directly; both were checked to work on their own.
          this.channel.signal('KILL');
          if (this.processGroup !== null) await this.killProcessGroup(this.processGroup);
        },
        forceClose: () => {
          this.spent = true;
          this.channel.close();
          // If even the close is not acknowledged (a dead connection), stop waiting for it.
          setTimeout(() => supervisor.closed(), CLOSE_TIMEOUT_MS).unref();
        },
      });
      this.channel.write(scriptMessage(script, token));
    };
    if (!gate) start();
    // Nothing is sent when the gate closes, and the exec rejects with the gate's reason; the loop
    // waits on for the next script.
    else gate.then(start, (reason: unknown) => supervisor.failed(reason ?? new Error('the gate was closed')));
  }

  /** Ends the loop (its stdin ends) and the session. */
  end(): void {
    this.spent = true;
    this.channel.end();
  }

  private stdout(data: Buffer): void {
    if (this.firstLine !== null) {
      // The loop's first line is its process group id; never 0 or 1 (`kill -- -1` would signal
      // every process the user owns).
      this.firstLine = Buffer.concat([this.firstLine, data]);
      const newline = this.firstLine.indexOf(0x0a);
      if (newline === -1) return;
      const group = Number(this.firstLine.subarray(0, newline).toString('ascii').trim());
      if (Number.isInteger(group) && group > 1) this.processGroup = group;
      data = this.firstLine.subarray(newline + 1);
      this.firstLine = null;
      if (data.length === 0) return;
    }
    const running = this.current;
    // Output with no script running (a daemon a script left holding stdout) belongs to nobody.
    if (!running) return;
    const { text, exitCode } = running.scanner.push(data);
    if (text.length > 0) running.supervisor.stdout(text);
    if (exitCode === null) return;
    this.current = null;
    running.supervisor.exited(exitCode, null);
    running.supervisor.closed();
  }
}

/**
 * Finds `<token> <exit code>\n` in a script's output and passes everything before it on. Only a
 * tail that could still become the token is held back, so step markers are never delayed.
 */
export class ExitScanner {
  private held: Buffer = Buffer.alloc(0);
  private readonly token: Buffer;

  constructor(token: string) {
    this.token = Buffer.from(`${token} `, 'ascii');
  }

  push(chunk: Buffer): { text: Buffer; exitCode: number | null } {
    const buffer: Buffer = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const at = buffer.indexOf(this.token);
    if (at !== -1) {
      const end = buffer.indexOf(0x0a, at + this.token.length);
      if (end === -1) {
        this.held = buffer.subarray(at);
        return { text: buffer.subarray(0, at), exitCode: null };
      }
      const code = Number(buffer.subarray(at + this.token.length, end).toString('ascii'));
      this.held = Buffer.alloc(0);
      return { text: buffer.subarray(0, at), exitCode: Number.isInteger(code) ? code : 1 };
    }
    const keep = this.partialTokenAtEnd(buffer);
    this.held = buffer.subarray(buffer.length - keep);
    return { text: buffer.subarray(0, buffer.length - keep), exitCode: null };
  }

  /** How many bytes at the end of `buffer` are the start of the token (compared in place). */
  private partialTokenAtEnd(buffer: Buffer): number {
    const first = this.token[0]!;
    let at = buffer.indexOf(first, Math.max(0, buffer.length - this.token.length + 1));
    while (at !== -1) {
      const length = buffer.length - at;
      if (buffer.compare(this.token, 0, length, at) === 0) return length;
      at = buffer.indexOf(first, at + 1);
    }
    return 0;
  }
}
