import { validateRef, validateRepository } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import { isOutboundRefusal, type OutboundGuard } from '../../net/outbound-guard.js';
import { gitErrorDetail, runGit } from './git-command.js';

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
    try {
      // Every http(s) connection git makes (redirects too) goes through the guard's proxy, which
      // connects only to the checked address.
      const proxy = /^https?:\/\//i.test(repository) ? await this.outbound.gitProxy() : null;
      return await runGit(['ls-remote', repository, ...patterns], {
        privateKey,
        timeoutMs: this.timeoutMs,
        proxy,
        maxBuffer: 1024 * 1024,
      });
    } catch (error) {
      throw new SlipwayError(
        'command_failed',
        `Could not read ${repository}: ${gitErrorDetail(error)}`,
        undefined,
        { cause: error },
      );
    }
  }
}
