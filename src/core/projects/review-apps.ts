import { Deployment, Environment } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { validateRef } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import type { EnvironmentTier } from '../../vocabulary.js';
import type { Actor } from '../access/index.js';
import { findEnvironmentByKey, findProject, findServers } from '../lookup.js';
import type { EnvironmentService, EnvironmentView } from './environment-service.js';
import type { ProjectSetup } from './project-setup.js';

export interface CloneInput {
  targetBranch: string;
  /** Defaults to `<source>-<branch>`. */
  name?: string;
  /** Defaults to `development`. */
  targetType?: EnvironmentTier;
  autoDestroy?: boolean;
  /**
   * Where the clone deploys (names or ids). None by default: environments that share a server
   * share its deploy path, so a clone on the source's servers would replace the source's release.
   */
  servers?: string[];
}

export interface ReviewAppEntry {
  id: string;
  name: string;
  slug: string;
  externalUrl: string | null;
}

const DAY_MS = 24 * 3600_000;

/**
 * Review apps: environments cloned from another onto a new branch (the promotion platform's
 * clone), and GitLab's clean-up of stopped ones. A review app is an environment with a source.
 */
export class ReviewApps {
  constructor(
    private readonly orm: Orm,
    private readonly setup: ProjectSetup,
    private readonly environments: EnvironmentService,
  ) {}

  async clone(
    actor: Actor,
    projectName: string,
    sourceKey: string,
    input: CloneInput,
  ): Promise<EnvironmentView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const source = await findEnvironmentByKey(em, project, sourceKey);
    const branch = validateRef(input.targetBranch);
    const name =
      input.name ??
      `${source.name}-${branch
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-')
        .replace(/^-+|-+$/g, '')}`.slice(0, 100);
    const servers = await findServers(em, project, input.servers ?? []);
    const environment = await this.setup.createEnvironment(em, actor, project, {
      name,
      tier: input.targetType ?? 'development',
      branch,
      servers,
      description: `Review app of ${source.name} on ${branch}`,
      commitBehaviour: source.commitBehaviour,
      approvalsRequired: source.approvalsRequired,
      approverRole: source.approverRole,
      approvalTtlMinutes: source.approvalTtlMinutes,
      clonedFrom: source,
      autoDestroy: input.autoDestroy ?? false,
    });
    return this.environments.get(project.name, environment.id);
  }

  /**
   * GitLab's "delete multiple stopped review apps": stopped review apps last changed before
   * `before` (default 30 days ago), oldest first, at most `limit` (default 100). A dry run (the
   * default) only lists what would go. One that cannot go now is listed as unprocessable.
   */
  async removeStopped(
    actor: Actor,
    projectName: string,
    options: { before?: Date; limit?: number; dryRun?: boolean } = {},
  ): Promise<{ scheduled: ReviewAppEntry[]; unprocessable: ReviewAppEntry[]; dryRun: boolean }> {
    const before = options.before ?? new Date(Date.now() - 30 * DAY_MS);
    const limit = options.limit ?? 100;
    const dryRun = options.dryRun ?? true;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new SlipwayError('invalid_input', 'limit must be between 1 and 1000.', { field: 'limit' });
    }
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const candidates = await em.find(
      Environment,
      { project, state: 'stopped', clonedFrom: { $ne: null }, updatedAt: { $lt: before } },
      { orderBy: { updatedAt: 'asc', name: 'asc' }, limit },
    );
    const scheduled: ReviewAppEntry[] = [];
    const unprocessable: ReviewAppEntry[] = [];
    for (const environment of candidates) {
      const entry = {
        id: environment.id,
        name: environment.name,
        slug: environment.slug,
        externalUrl: environment.externalUrl ?? null,
      };
      const active = await em.count(Deployment, { environment, status: { $in: ['queued', 'running'] } });
      if (active) {
        unprocessable.push(entry);
        continue;
      }
      if (!dryRun)
        await this.environments.destroy(
          em.fork(),
          actor,
          project,
          environment,
          'environment.review_app.delete',
        );
      scheduled.push(entry);
    }
    return { scheduled, unprocessable, dryRun };
  }
}
