import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateRef, validateRepository } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import { isOutboundRefusal, type OutboundGuard } from '../../net/outbound-guard.js';

const run = promisify(execFile);
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface ResolvedCommit {
  hash: string;
  /** What the ref was: a branch, a tag, or already a commit. */
  kind: 'branch' | 'tag' | 'commit';
}

/**
 * Turns a branch, tag or full sha into the exact commit to deploy, before anything is queued,
 * with `git ls-remote` against the project's repository (using the project's key for SSH
 * remotes). Servers then check out that commit, so every server gets the same code even if the
 * branch moves during the deployment.
 */
export class CommitResolver {
  constructor(
    /** http(s) remotes are the user's URLs: checked, and fetched through the guard's proxy. */
    private readonly outbound: Pick<OutboundGuard, 'checkUrl' | 'gitProxy'>,
    private readonly timeoutMs = 30_000,
  ) {}

  async resolve(repository: string, ref: string, privateKey?: string): Promise<ResolvedCommit> {
    validateRepository(repository);
    validateRef(ref);
    await this.checkReachable(repository);
    if (FULL_SHA.test(ref)) return { hash: ref, kind: 'commit' };
    if (/^[0-9a-f]{7,39}$/.test(ref)) {
      throw new SlipwayError(
        'invalid_input',
        `"${ref}" looks like a short commit id: give the full 40-character sha, a branch or a tag.`,
      );
    }
    const patterns = [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/tags/${ref}^{}`];
    const output = await this.lsRemote(repository, patterns, privateKey);
    const refs = new Map<string, string>();
    for (const line of output.split('\n')) {
      const [hash, name] = line.split('\t');
      if (hash && name) refs.set(name, hash);
    }
    const branch = refs.get(`refs/heads/${ref}`);
    if (branch) return { hash: branch, kind: 'branch' };
    // An annotated tag's own object is not a commit; `^{}` is the commit it points to.
    const tag = refs.get(`refs/tags/${ref}^{}`) ?? refs.get(`refs/tags/${ref}`);
    if (tag) return { hash: tag, kind: 'tag' };
    throw new SlipwayError('not_found', `There is no branch or tag "${ref}" in ${repository}.`);
  }

  /** An http(s) remote naming an internal address is refused with the reason, before git runs. */
  private async checkReachable(repository: string): Promise<void> {
    if (!/^https?:\/\//i.test(repository)) return;
    try {
      await this.outbound.checkUrl(repository);
    } catch (error) {
      if (!isOutboundRefusal(error)) throw error;
      throw new SlipwayError('refused', `Could not read the repository: ${error.message}.`);
    }
  }

  private async lsRemote(repository: string, patterns: string[], privateKey?: string): Promise<string> {
    const keyDir = privateKey ? await mkdtemp(join(tmpdir(), 'slipway-git-')) : undefined;
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
      if (keyDir && privateKey) {
        const keyPath = join(keyDir, 'id');
        await writeFile(keyPath, privateKey, { mode: 0o600 });
        env.GIT_SSH_COMMAND = `ssh -i ${keyPath} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new`;
      }
      // Every http(s) connection git makes (redirects too) goes through the guard's proxy, which
      // connects only to the checked address; NO_PROXY may not exempt any host from it.
      const proxy = /^https?:\/\//i.test(repository) ? await this.outbound.gitProxy() : null;
      if (proxy) Object.assign(env, { NO_PROXY: '', no_proxy: '' });
      const args = [...(proxy ? ['-c', `http.proxy=${proxy}`] : []), 'ls-remote', repository, ...patterns];
      const { stdout } = await run('git', args, {
        env,
        timeout: this.timeoutMs,
        maxBuffer: 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message)
        .trim()
        .split('\n')
        .slice(-2)
        .join(' ');
      throw new SlipwayError('command_failed', `Could not read ${repository}: ${detail}`, undefined, {
        cause: error,
      });
    } finally {
      if (keyDir) await rm(keyDir, { recursive: true, force: true });
    }
  }
}
