/**
 * How the engine runs a script on a server. A script is bash source sent on stdin to a bash
 * running SCRIPT_READER (stdin keeps it off process lists and out of ARG_MAX limits); output is
 * the script's stdout and stderr as one stream, in the order it wrote them (the readers send the
 * script's stderr into its stdout). Calls on one transport run one after another.
 */

export interface ExecOptions {
  /** Aborting stops the remote command (its whole process group) and rejects with 'cancelled'. */
  signal?: AbortSignal;
  /** Stop the command after this long and reject with 'timeout'. */
  timeoutMs?: number;
  /** Every chunk of output as it arrives. */
  onOutput?: (chunk: string) => void;
  /**
   * Open the session now but send the script only once this resolves: the remote shell is
   * started and waiting when the moment comes (activation right after the barrier). If it
   * rejects, nothing is run, the session is closed and exec rejects with its reason.
   */
  gate?: Promise<unknown>;
}

export interface ExecResult {
  exitCode: number;
  /** Stdout and stderr in the order written, capped to the last TRANSPORT_OUTPUT_CAP characters. */
  output: string;
}

export interface Transport {
  /** For messages: the server's name. */
  readonly label: string;
  /** Connect now (exec connects on demand); rejects with ssh_failed, host_key_mismatch or cancelled. */
  connect(signal?: AbortSignal): Promise<void>;
  exec(script: string, options?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

export const TRANSPORT_OUTPUT_CAP = 1024 * 1024;

/**
 * How a script is framed on bash's stdin: as one `{ … }` group, so bash parses all of it before
 * running any of it (a syntax error runs nothing), with the group's stdin from /dev/null so no
 * command can read the rest of the script (or wait on the still-open channel), then `exit`.
 */
export function frameScript(script: string): string {
  return `{\n${script}\n} </dev/null\nexit $?\n`;
}

const READ_SCRIPT = 'LC_ALL=C IFS= read -r -N "$__sw_n" __sw_s || exit 97';

/**
 * What a bash that runs one script reads it with (as `bash -c`): the framed script's length in
 * bytes, then the script itself in one read(2), then it runs it. `bash -s` reads a pipe one byte
 * per read(2) — it must not read past the command it is about to run — which is 3,500 system
 * calls for a prepare script, on every server of every deploy. The count is in bytes: LC_ALL=C
 * applies to that read alone. A script cut short (the connection lost while sending it) runs
 * nothing, and stdin closed before a length is a quiet exit 0. The script is never exported, so
 * the commands it starts do not see it. The script's stderr (its syntax errors too) goes into its
 * stdout: one pipe keeps the order in which a script wrote its lines.
 */
export const SCRIPT_READER = `IFS= read -r __sw_n || exit 0; ${READ_SCRIPT}; unset __sw_n; eval "$__sw_s" 2>&1`;

/**
 * The same reading in a loop, for a session that runs many scripts: each header line is
 * `<length> <exit token>`; each script runs in a subshell with stdin from /dev/null (nothing of
 * it reaches the next, and nothing reads the scripts still to come), then its exit code is
 * printed behind its token. The token is not exported, and unset inside the subshell. The
 * subshell's stderr goes into its stdout: sshd reads the two from separate pipes and sends them
 * on separate streams, so the exit line (on stdout) could overtake the last of stderr — a failed
 * install's reason, lost from the step's output.
 */
export const SCRIPT_LOOP = `while IFS=' ' read -r __sw_n __sw_k; do ${READ_SCRIPT}; ( unset __sw_n __sw_k; eval "$__sw_s" ) </dev/null 2>&1; printf '%s %s\\n' "$__sw_k" "$?"; done`;

/** What is written to a reader's stdin for `script`: its header line, then the framed script. */
export function scriptMessage(script: string, exitToken?: string): string {
  const framed = frameScript(script);
  return `${Buffer.byteLength(framed)}${exitToken ? ` ${exitToken}` : ''}\n${framed}`;
}
