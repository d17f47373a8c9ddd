import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { validateRepository } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import type { OutboundGuard } from '../../net/outbound-guard.js';
import { gitErrorDetail, runGit } from './git-command.js';

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Unit and record separators: git's output split without ambiguity (messages hold anything else). */
const US = '\x1f';
const RS = '\x1e';
const FORMAT = `--format=%H${US}%an${US}%aI${US}%B${RS}`;

export interface CommitInfo {
  sha: string;
  /** The message's first line. */
  subject: string;
  message: string;
  author: string;
  authoredAt: Date;
}

export interface CommitLogOptions {
  /** Where the bare caches live, one per project (`<dir>/<project id>.git`). */
  cacheDir: string;
  /** A clone or fetch may take this long. */
  fetchTimeoutMs?: number;
  /** http(s) remotes are users' URLs: checked, and reached through the outbound guard's proxy. */
  outbound: Pick<OutboundGuard, 'checkUrl' | 'gitProxy'>;
}

interface Repository {
  /** Names the cache: one per project. */
  id: string;
  repository: string;
  privateKey?: string;
}

/**
 * Commits as git knows them, from a bare cache of the project's repository on the Slipway host
 * (a partial clone without file contents: commits are all we read), fetched when a commit is not
 * there yet. Works for any git host the servers can reach, with the project's key; nothing
 * provider-specific. Fetches into one cache run one at a time in this process; another
 * replica's fetch at the same moment only makes ours retry.
 */
export class CommitLog {
  private readonly fetchTimeoutMs: number;
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly options: CommitLogOptions) {
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 120_000;
  }

  /** One commit's message and author; fetches once if the cache does not have it. */
  async describe(repo: Repository, sha: string): Promise<CommitInfo> {
    checkSha(sha);
    const dir = await this.cache(repo);
    const found = await this.show(dir, sha);
    if (found) return found;
    await this.fetch(repo, dir, [sha]);
    const again = await this.show(dir, sha);
    if (!again)
      throw new SlipwayError('not_found', `Commit ${sha.slice(0, 8)} is not in ${repo.repository}.`);
    return again;
  }

  /**
   * What `head` adds over `base`: the newest `limit` commits of base..head, how many there are in
   * all, and how many of base's commits head lacks (a deploy of an older commit goes back).
   */
  async between(
    repo: Repository,
    base: string,
    head: string,
    limit: number,
  ): Promise<{ total: number; behind: number; commits: CommitInfo[] }> {
    checkSha(base);
    checkSha(head);
    const dir = await this.cache(repo);
    // Counted straight away: git fails when either commit is missing, and only then is there a fetch.
    const count = () =>
      this.git(dir, ['rev-list', '--left-right', '--count', `${base}...${head}`]).catch(() => null);
    let counts = await count();
    if (counts === null) {
      await this.fetch(repo, dir, [base, head]);
      counts = await count();
    }
    if (counts === null) {
      const missing = (await this.has(dir, base)) ? head : base;
      throw new SlipwayError('not_found', `Commit ${missing.slice(0, 8)} is not in ${repo.repository}.`);
    }
    const [behind = 0, total = 0] = counts.trim().split(/\s+/).map(Number);
    const commits = total
      ? parse(await this.git(dir, ['log', FORMAT, `--max-count=${limit}`, `${base}..${head}`]))
      : [];
    return { total, behind, commits };
  }

  /** Null when the cache does not have the commit (git fails on it): one process, not two. */
  private async show(dir: string, sha: string): Promise<CommitInfo | null> {
    const output = await this.git(dir, ['log', FORMAT, '--max-count=1', sha]).catch(() => null);
    return output === null ? null : (parse(output)[0] ?? null);
  }

  private async has(dir: string, sha: string): Promise<boolean> {
    try {
      await this.git(dir, ['cat-file', '-e', `${sha}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** The project's cache, cloned on first use (into a temporary name, then renamed into place). */
  private async cache(repo: Repository): Promise<string> {
    validateRepository(repo.repository);
    if (!/^[0-9a-f-]{36}$/i.test(repo.id)) throw new Error(`not a project id: ${repo.id}`);
    const dir = join(this.options.cacheDir, `${repo.id}.git`);
    if (await exists(dir)) return dir;
    return this.serially(repo.id, async () => {
      if (await exists(dir)) return dir;
      await mkdir(this.options.cacheDir, { recursive: true, mode: 0o700 });
      const temporary = `${dir}.${process.pid}.${Date.now()}.tmp`;
      try {
        await runGit(
          ['clone', '--quiet', '--bare', '--filter=blob:none', '--no-tags', '--', repo.repository, temporary],
          { privateKey: repo.privateKey, timeoutMs: this.fetchTimeoutMs, proxy: await this.proxyFor(repo) },
        );
        await rename(temporary, dir).catch(async (error: unknown) => {
          // Another replica finished its clone first: keep theirs.
          if (!(await exists(dir))) throw error;
        });
      } catch (error) {
        throw new SlipwayError(
          'command_failed',
          `Could not read the history of ${repo.repository}: ${gitErrorDetail(error)}`,
          undefined,
          { cause: error },
        );
      } finally {
        await rm(temporary, { recursive: true, force: true });
      }
      return dir;
    });
  }

  /**
   * Every branch and tag, and each of `shas` itself when no ref holds it (hosts allow fetching reachable
   * commits). Through the `origin` the clone made, so its partial-clone filter applies; its URL
   * follows the project's repository should that change.
   */
  private async fetch(repo: Repository, dir: string, shas: readonly string[]): Promise<void> {
    await this.serially(repo.id, async () => {
      // A fetch queued behind another (a deploy reads a commit and what it ships at once) often
      // finds the commits already there.
      if ((await Promise.all(shas.map((sha) => this.has(dir, sha)))).every(Boolean)) return;
      const options = {
        cwd: dir,
        privateKey: repo.privateKey,
        timeoutMs: this.fetchTimeoutMs,
        proxy: await this.proxyFor(repo),
      };
      const url = (await this.git(dir, ['remote', 'get-url', 'origin']).catch(() => '')).trim();
      if (url !== repo.repository) await this.git(dir, ['remote', 'set-url', 'origin', repo.repository]);
      const refs = [
        'fetch',
        '--quiet',
        '--prune',
        'origin',
        '+refs/heads/*:refs/heads/*',
        '+refs/tags/*:refs/tags/*',
      ];
      try {
        await runGit(refs, options);
      } catch {
        // A concurrent fetch by another process holds a ref lock: once more, after it.
        await new Promise((resolve) => setTimeout(resolve, 300));
        try {
          await runGit(refs, options);
        } catch (error) {
          throw new SlipwayError(
            'command_failed',
            `Could not fetch ${repo.repository}: ${gitErrorDetail(error)}`,
            undefined,
            { cause: error },
          );
        }
      }
      for (const sha of shas) {
        if (!(await this.has(dir, sha)))
          await runGit(['fetch', '--quiet', 'origin', sha], options).catch(() => undefined);
      }
    });
  }

  /** An http(s) remote is checked (an internal address is refused) and reached through the guard. */
  private async proxyFor(repo: Repository): Promise<string | null> {
    if (!/^https?:\/\//i.test(repo.repository)) return null;
    await this.options.outbound.checkUrl(repo.repository);
    return this.options.outbound.gitProxy();
  }

  private git(dir: string, args: string[]): Promise<string> {
    return runGit(args, { cwd: dir, timeoutMs: 30_000 });
  }

  private async serially<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.busy.get(key) ?? Promise.resolve();
    const next = before.catch(() => undefined).then(work);
    this.busy.set(key, next);
    try {
      return await next;
    } finally {
      if (this.busy.get(key) === next) this.busy.delete(key);
    }
  }
}

function checkSha(sha: string): void {
  if (!SHA.test(sha))
    throw new SlipwayError('invalid_input', `"${sha.slice(0, 80)}" is not a full commit sha.`);
}

function parse(output: string): CommitInfo[] {
  return output
    .split(RS)
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record.includes(US))
    .map((record) => {
      const [sha = '', author = '', date = '', message = ''] = record.split(US);
      const trimmed = message.trim();
      return {
        sha,
        author,
        authoredAt: new Date(date),
        message: trimmed,
        subject: trimmed.split('\n')[0] ?? '',
      };
    });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
