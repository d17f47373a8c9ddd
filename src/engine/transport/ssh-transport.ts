// biome-ignore-all lint/suspicious/noTemplateCurlyInString: this file writes bash, where ${…} is bash syntax, not a template slip
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import ssh2 from 'ssh2';
import { SlipwayError } from '../../errors.js';
import { sha256Fingerprint } from '../fingerprint.js';
import { shellQuote } from '../shell-quote.js';
import { ExecSupervisor } from './exec-supervisor.js';
import { CLOSE_TIMEOUT_MS, SshShellSession } from './ssh-shell-session.js';
import { type ExecOptions, type ExecResult, SCRIPT_LOOP, type Transport } from './transport.js';

export interface SshTransportOptions {
  /** The server's name, for messages. */
  label: string;
  host: string;
  port: number;
  username: string;
  /** OpenSSH-format private key. */
  privateKey: string;
  /** Pinned host key fingerprint (`SHA256:…`); absent = trust on first use. */
  knownHostKey?: string | null;
  /** Called once, after the first successful login to a server with no pin. */
  onHostKeyLearned?: (fingerprint: string) => void;
  connectTimeoutMs: number;
  keepaliveIntervalMs?: number;
}

/**
 * Printed first on stdout: the process group id of the remote bash (read from /proc without
 * forking; $$ where there is no /proc), so that on cancel or timeout the whole tree (`npm ci`
 * and its children, not just bash) can be killed even on a server that ignores channel signals.
 */
const REPORT_PROCESS_GROUP =
  '__sw_pg=$$; if [ -r /proc/$$/stat ]; then read -r -a __sw_st < /proc/$$/stat && __sw_pg=${__sw_st[4]}; fi; printf \'%s\\n\' "$__sw_pg"; unset __sw_pg __sw_st';

/**
 * What the login shell runs, once per connection. `exec` so bash replaces the login shell and is
 * the session's process-group leader; `--norc --noprofile` so no rc file runs again (the login
 * shell has already set the user's environment). It reports its process group at once, then
 * runs the scripts that come on stdin, one after another (SCRIPT_LOOP, SshShellSession).
 */
const REMOTE_COMMAND = `exec bash --norc --noprofile -c ${shellQuote(`${REPORT_PROCESS_GROUP}; ${SCRIPT_LOOP}`)}`;

/** How long a kill command may take before we close the channel anyway. */
const KILL_TIMEOUT_MS = 5000;

/**
 * One SSH connection to one server, reused for every command of a run; commands run one at a
 * time on it (never near the server's MaxSessions). Host keys are pinned: with a pin, any other
 * key is refused before authentication; without one, the key is reported as learned once the
 * login succeeded, and pinned for the rest of this transport's life.
 */
export class SshTransport implements Transport {
  readonly label: string;
  private connection: Promise<Client> | null = null;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private pin: string | null;
  private liveClient: Client | null = null;
  private session: { client: Client; shell: SshShellSession } | null = null;

  constructor(private readonly options: SshTransportOptions) {
    this.label = options.label;
    this.pin = options.knownHostKey ?? null;
  }

  async connect(signal?: AbortSignal): Promise<void> {
    await this.client(signal);
  }

  exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const run = () => this.run(script, options);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.session?.shell.end();
    this.session = null;
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    const client = await connection.catch(() => null);
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  private client(signal?: AbortSignal): Promise<Client> {
    if (this.closed) {
      return Promise.reject(
        new SlipwayError('ssh_failed', `The connection to ${this.label} is already closed.`),
      );
    }
    if (!this.connection) {
      const opening = this.open(signal);
      this.connection = opening;
      opening.catch(() => {
        if (this.connection === opening) this.connection = null;
      });
    }
    return this.connection;
  }

  private open(signal?: AbortSignal): Promise<Client> {
    const { host, port, username, privateKey, connectTimeoutMs, keepaliveIntervalMs } = this.options;
    return new Promise<Client>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new SlipwayError('cancelled', `Connecting to ${this.label} was cancelled.`));
        return;
      }
      const client = new ssh2.Client();
      let presented: string | null = null;
      let refusedKey = false;
      let settled = false;
      const onAbort = () => fail(new SlipwayError('cancelled', `Connecting to ${this.label} was cancelled.`));
      const fail = (error: SlipwayError) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        client.destroy();
        reject(error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (this.pin === null && presented !== null) {
          this.pin = presented;
          this.options.onHostKeyLearned?.(presented);
        }
        this.liveClient = client;
        resolve(client);
      });
      client.on('error', (error: Error & { level?: string }) => {
        fail(refusedKey ? this.hostKeyMismatch(presented) : this.connectError(error));
      });
      client.on('close', () => {
        if (!settled)
          fail(
            refusedKey ? this.hostKeyMismatch(presented) : this.connectError(new Error('connection closed')),
          );
        // A dropped connection is reopened (and its host key checked again) by the next command.
        else if (this.liveClient === client) {
          this.liveClient = null;
          this.connection = null;
        }
      });
      const config: ConnectConfig = {
        host,
        port,
        username,
        privateKey,
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        // No hostHash: ssh2 then passes the raw key blob, and we compute OpenSSH's fingerprint.
        hostVerifier: (key: Buffer): boolean => {
          presented = sha256Fingerprint(key);
          if (this.pin !== null && presented !== this.pin) {
            refusedKey = true;
            return false;
          }
          return true;
        },
      };
      try {
        client.connect(config);
      } catch (error) {
        fail(
          new SlipwayError(
            'ssh_failed',
            `Could not connect to ${this.label}: ${(error as Error).message}.`,
            undefined,
            {
              cause: error,
            },
          ),
        );
      }
    });
  }

  private hostKeyMismatch(actual: string | null): SlipwayError {
    const { host, port } = this.options;
    return new SlipwayError(
      'host_key_mismatch',
      `The host key of ${this.label} (${host}:${port}) has changed: expected ${this.pin}, but the server presented ${actual}. ` +
        'Nothing was run. This happens when a server is reinstalled, and also when someone intercepts the connection. ' +
        'Check the fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); if it is the new one, ' +
        "reset this server's pinned host key in Slipway and try again.",
      { expected: this.pin, actual, host, port },
    );
  }

  private connectError(error: Error & { level?: string }): SlipwayError {
    const { host, port, username } = this.options;
    const where = `${this.label} (${username}@${host}:${port})`;
    let message = `Could not connect to ${where}: ${error.message}.`;
    if (error.level === 'client-authentication') {
      message = `${where} refused the project's SSH key. Add the project's public key to ~${username}/.ssh/authorized_keys on the server.`;
    } else if (error.level === 'client-timeout') {
      message = `Timed out connecting to ${where} after ${Math.round(this.options.connectTimeoutMs / 1000)} s.`;
    }
    return new SlipwayError(
      'ssh_failed',
      message,
      { host, port, level: error.level ?? null },
      { cause: error },
    );
  }

  private async run(script: string, options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted)
      throw new SlipwayError('cancelled', `The command on ${this.label} was stopped.`);
    const client = await this.client(options.signal);
    const session = await this.shell(client);
    const supervisor = new ExecSupervisor(this.label, options);
    session.run(script, supervisor, options.gate);
    return supervisor.result;
  }

  /** The connection's shell session: the one already open, or a new one when it is spent. */
  private async shell(client: Client): Promise<SshShellSession> {
    if (this.session?.client === client && this.session.shell.usable) return this.session.shell;
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      client.exec(REMOTE_COMMAND, (error, opened) => {
        if (error) {
          reject(
            new SlipwayError(
              'ssh_failed',
              `Could not start a command on ${this.label}: ${error.message}.`,
              undefined,
              { cause: error },
            ),
          );
        } else resolve(opened);
      });
    });
    const shell = new SshShellSession(channel, (group) => this.killProcessGroup(client, group));
    this.session = { client, shell };
    return shell;
  }

  private killProcessGroup(client: Client, processGroup: number): Promise<void> {
    const command = `exec bash --norc --noprofile -c ${shellQuote(`kill -KILL -- -${processGroup} 2>/dev/null; exit 0`)}`;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, KILL_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        client.exec(command, (error, channel) => {
          if (error) {
            done();
            return;
          }
          channel.on('close', done);
          channel.on('error', () => undefined);
          channel.resume();
          channel.stderr.resume();
          channel.end();
        });
      } catch {
        done();
      }
    });
  }
}
