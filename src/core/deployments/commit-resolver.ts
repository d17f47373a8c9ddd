import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateRef, validateRepository } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';

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
  constructor(private readonly timeoutMs = 30_000) {}

  async resolve(repository: string, ref: string, privateKey?: string): Promise<ResolvedCommit> {
    validateRepository(repository);
    validateRef(ref);
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

  private async lsRemote(repository: string, patterns: string[], privateKey?: string): Promise<string> {
    const keyDir = privateKey ? await mkdtemp(join(tmpdir(), 'slipway-git-')) : undefined;
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
      if (keyDir && privateKey) {
        const keyPath = join(keyDir, 'id');
        await writeFile(keyPath, privateKey, { mode: 0o600 });
        env.GIT_SSH_COMMAND = `ssh -i ${keyPath} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new`;
      }
      const { stdout } = await run('git', ['ls-remote', repository, ...patterns], {
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
