import { Project } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { Actor } from '../access/index.js';
import type { CommitStatusService } from '../promotions/index.js';
import type { CiOutcome, CiResult } from './repository-events.js';

/**
 * CI results reported by a repository host become the commit statuses that test gates read, for
 * every project of that repository — the same records as `POST …/commits/{sha}/statuses`.
 */
export class CiResults {
  constructor(
    private readonly orm: Orm,
    private readonly statuses: CommitStatusService,
  ) {}

  async record(result: CiResult): Promise<CiOutcome> {
    const repository = result.repository.toLowerCase();
    const projects = await this.orm.em
      .fork()
      .find(Project, { githubRepository: repository }, { orderBy: { name: 'asc' } });
    const actor: Actor = { memberId: null, name: `${result.host}:${result.reporter}`, source: result.host };
    const context = result.context.slice(0, 100);
    for (const project of projects) {
      await this.statuses.report(actor, project.name, result.commit, {
        state: result.state,
        context,
        description: result.description?.slice(0, 1000) ?? null,
        targetUrl: result.targetUrl?.slice(0, 2000) ?? null,
      });
    }
    return {
      repository,
      commit: result.commit,
      context,
      state: result.state,
      projects: projects.map((project) => project.name),
    };
  }
}
