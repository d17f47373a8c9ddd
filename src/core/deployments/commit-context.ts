import type { DeploymentChanges, IProject } from '../../db/entities/index.js';
import type { Logger } from '../../logger.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import type { CommitInfo, CommitLog } from './commit-log.js';
import { compareUrl } from './compare-link.js';

/** How many commits a card lists; the rest are "and N more". */
export const CARD_COMMITS = 10;

export interface CommitDetails {
  message: string;
  author: string;
}

/**
 * What people see of a deployment's code: the commit's message and author, and the commits
 * between what is live and what will ship, read from the project's repository (CommitLog) with
 * the project's key. For deployments this is context, not a gate: when git cannot be read, the
 * deployment goes on without it and the reason is logged.
 */
export class CommitContext {
  constructor(
    private readonly log: CommitLog,
    private readonly secrets: SecretBox,
    private readonly logger?: Logger,
  ) {}

  async details(project: IProject, sha: string): Promise<CommitDetails | null> {
    try {
      const commit = await this.log.describe(this.repo(project), sha);
      return { message: commit.message, author: commit.author };
    } catch (error) {
      this.logger?.warn({ err: error, project: project.name, sha }, 'could not read a commit message');
      return null;
    }
  }

  /** base..head for a card (null base: nothing is live yet, so the card shows the commit itself). */
  async changes(project: IProject, base: string | null, head: string): Promise<DeploymentChanges | null> {
    try {
      const repo = this.repo(project);
      if (base === null || base === head) {
        const commits = base === null ? [shipped(await this.log.describe(repo, head))] : [];
        return { base, head, total: commits.length, behind: 0, commits, compareUrl: null };
      }
      const range = await this.log.between(repo, base, head, CARD_COMMITS);
      // Going back to an older commit: list what it takes away instead.
      const listed =
        range.total === 0 && range.behind > 0
          ? (await this.log.between(repo, head, base, CARD_COMMITS)).commits
          : range.commits;
      return {
        base,
        head,
        total: range.total,
        behind: range.behind,
        commits: listed.map(shipped),
        compareUrl: compareUrl(project.provider, project.repository, base, head),
      };
    } catch (error) {
      this.logger?.warn(
        { err: error, project: project.name, base, head },
        'could not list the commits shipped',
      );
      return null;
    }
  }

  /** The commits `head` adds over `since`, newest first (the API's commits since a SHA); errors are the caller's. */
  async since(
    project: IProject,
    since: string,
    head: string,
    limit: number,
  ): Promise<{ total: number; behind: number; commits: CommitInfo[]; compareUrl: string | null }> {
    const range = await this.log.between(this.repo(project), since, head, limit);
    return { ...range, compareUrl: compareUrl(project.provider, project.repository, since, head) };
  }

  private repo(project: IProject) {
    return {
      id: project.id,
      repository: project.repository,
      privateKey: this.secrets.open(project.sshPrivateKey, SECRET_PURPOSE.projectSshKey),
    };
  }
}

function shipped(commit: CommitInfo) {
  return { sha: commit.sha, subject: commit.subject.slice(0, 200), author: commit.author.slice(0, 100) };
}
