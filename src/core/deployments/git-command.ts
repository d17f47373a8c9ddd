import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitOptions {
  /** Run in this directory (`git -C`). */
  cwd?: string;
  /** The project's OpenSSH private key, for SSH remotes: written to a 0600 temp file for the call only. */
  privateKey?: string;
  timeoutMs: number;
  maxBuffer?: number;
  /**
   * The outbound guard's proxy for http(s) remotes: every connection git makes, redirects too,
   * goes through it, and NO_PROXY may not exempt a host.
   */
  proxy?: string | null | undefined;
}

/**
 * Runs git on the Slipway host without a shell: arguments go to git as they are, prompts are
 * off (a missing credential fails instead of waiting), and SSH remotes use the project's key.
 */
export async function runGit(args: readonly string[], options: GitOptions): Promise<string> {
  const keyDir = options.privateKey ? await mkdtemp(join(tmpdir(), 'slipway-git-')) : undefined;
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
    if (keyDir && options.privateKey) {
      const keyPath = join(keyDir, 'id');
      await writeFile(keyPath, options.privateKey, { mode: 0o600 });
      env.GIT_SSH_COMMAND = `ssh -i ${keyPath} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new`;
    }
    if (options.proxy) Object.assign(env, { NO_PROXY: '', no_proxy: '' });
    const proxy = options.proxy ? ['-c', `http.proxy=${options.proxy}`] : [];
    const { stdout } = await run('git', [...(options.cwd ? ['-C', options.cwd] : []), ...proxy, ...args], {
      env,
      timeout: options.timeoutMs,
      maxBuffer: options.maxBuffer ?? 8 * 1024 * 1024,
    });
    return stdout;
  } finally {
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  }
}

/** The last lines git wrote to stderr, for messages. */
export function gitErrorDetail(error: unknown): string {
  return ((error as { stderr?: string }).stderr ?? (error as Error).message)
    .trim()
    .split('\n')
    .slice(-2)
    .join(' ');
}
