import type { Orm } from '../../db/orm.js';
import { validateRef } from '../../engine/index.js';
import { findProject } from '../lookup.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import type { CommitContext } from './commit-context.js';
import type { CommitInfo } from './commit-log.js';
import type { CommitResolver } from './commit-resolver.js';

export interface CommitsSince {
  project: string;
  branch: string;
  /** The branch's head now (git ls-remote). */
  head: string;
  since: string;
  /** How many commits the head has that `since` lacks; `commits` holds the newest `limit` of them. */
  total: number;
  /** How many commits of `since` the head lacks (the branch was rewound or `since` is on another branch). */
  behind: number;
  commits: CommitInfo[];
  compareUrl: string | null;
}

/** The promotion platform's "commits since a SHA": what a branch's head has that a given commit has not. */
export class ProjectCommits {
  constructor(
    private readonly orm: Orm,
    private readonly resolver: CommitResolver,
    private readonly context: CommitContext,
    private readonly secrets: SecretBox,
  ) {}

  async since(projectName: string, since: string, branch?: string, limit = 100): Promise<CommitsSince> {
    const project = await findProject(this.orm.em.fork(), projectName);
    const name = validateRef(branch ?? project.defaultBranch);
    const privateKey = this.secrets.open(project.sshPrivateKey, SECRET_PURPOSE.projectSshKey);
    const head = await this.resolver.resolve(project.repository, name, privateKey);
    const range = await this.context.since(project, since, head.hash, limit);
    return { project: project.name, branch: name, head: head.hash, since, ...range };
  }
}
