import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import {
  ApprovalRequest,
  Deployment,
  Environment,
  type IDeployment,
  type IEnvironment,
  type IProject,
  Lock,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { validateRef } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import {
  ACTIVE_DEPLOYMENT_STATUSES,
  type CommitBehaviour,
  type EnvironmentState,
  type EnvironmentTier,
  type Role,
} from '../../vocabulary.js';
import { type Actor, recordAudit } from '../access/index.js';
import { findEnvironmentByKey, findProject, findServers, replaceServers } from '../lookup.js';
import type { AutoStopSetting, ProjectSetup } from './project-setup.js';

export interface DeploymentSummary {
  id: string;
  number: number;
  kind: string;
  status: IDeployment['status'];
  ref: string;
  commit: string | null;
  commitAuthor: string | null;
  commitMessage: string | null;
  requestedBy: string;
  source: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface EnvironmentView {
  id: string;
  project: string;
  name: string;
  slug: string;
  description: string | null;
  externalUrl: string | null;
  /** Checked after each activation; null: the project's URL is checked. */
  healthCheckUrl: string | null;
  state: EnvironmentState;
  tier: EnvironmentTier;
  branch: string;
  servers: string[];
  autoStopAt: Date | null;
  autoStopSetting: AutoStopSetting;
  commitBehaviour: CommitBehaviour;
  approvalsRequired: number;
  approverRole: Role;
  approvalTtlMinutes: number;
  clonedFrom: string | null;
  autoDestroy: boolean;
  lock: { holder: string; reason: string | null; since: Date; expiresAt: Date | null } | null;
  /** What `current` points at on the servers, and its commit (null: nothing deployed yet). */
  live: { release: string; commit: string | null; deploymentId: string | null; since: Date | null } | null;
  createdAt: Date;
  updatedAt: Date;
  /** Only on a single environment (GitLab's "get"). */
  lastDeployment?: DeploymentSummary | null;
}

export interface EnvironmentInput {
  name: string;
  tier?: EnvironmentTier;
  branch?: string;
  externalUrl?: string | null;
  healthCheckUrl?: string | null;
  description?: string | null;
  /** Server names or ids. */
  servers?: string[];
  autoStopSetting?: AutoStopSetting;
  autoStopAt?: Date | null;
  commitBehaviour?: CommitBehaviour;
  approvalsRequired?: number;
  approverRole?: Role;
  approvalTtlMinutes?: number;
}

export type EnvironmentPatch = Partial<Omit<EnvironmentInput, 'name'>>;

export interface EnvironmentFilter {
  name?: string;
  search?: string;
  states?: EnvironmentState;
}

export interface StopOutcome {
  environment: EnvironmentView;
  /** An auto-destroy environment (a review app) is deleted once stopped. */
  destroyed: boolean;
  /** Deployments that were waiting for approval or in the queue and were cancelled. */
  cancelledDeployments: number[];
}

const WEEK_MS = 7 * 24 * 3600_000;
const TEN_YEARS_MS = 10 * 365.25 * 24 * 3600_000;

/**
 * Environments with GitLab's shape and rules: list with filters, get with the last deployment,
 * create, update, stop, delete only once stopped, stop stale ones, and the auto-stop sweep.
 * Role checks are the caller's; the rules here hold for every caller.
 */
export class EnvironmentService {
  constructor(
    private readonly orm: Orm,
    private readonly setup: ProjectSetup,
  ) {}

  /** GitLab's filters: `name` (exact) or `search` (≥ 3 characters, not both), and `states`. */
  async list(projectName: string, filter: EnvironmentFilter = {}): Promise<EnvironmentView[]> {
    if (filter.name !== undefined && filter.search !== undefined) {
      throw new SlipwayError('invalid_input', 'name and search cannot be used together.', {
        field: 'search',
      });
    }
    if (filter.search !== undefined && filter.search.length < 3) {
      throw new SlipwayError('invalid_input', 'search must be at least 3 characters long.', {
        field: 'search',
      });
    }
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const where: Record<string, unknown> = { project };
    if (filter.name !== undefined) where.name = filter.name;
    if (filter.search !== undefined) where.name = { $ilike: `%${filter.search.replace(/[\\%_]/g, '\\$&')}%` };
    if (filter.states !== undefined) where.state = filter.states;
    const environments = await em.find(Environment, where, {
      populate: ['servers'],
      orderBy: { name: 'asc' },
    });
    return this.views(em, project, environments);
  }

  async get(projectName: string, key: string): Promise<EnvironmentView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, key);
    const [view] = await this.views(em, project, [environment]);
    const last = await em.findOne(Deployment, { environment }, { orderBy: { createdAt: 'desc' } });
    return { ...view!, lastDeployment: last ? deploymentSummary(last) : null };
  }

  async create(actor: Actor, projectName: string, input: EnvironmentInput): Promise<EnvironmentView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const servers = await findServers(em, project, input.servers ?? []);
    const environment = await this.setup.createEnvironment(em, actor, project, { ...input, servers });
    return this.get(project.name, environment.id);
  }

  async update(
    actor: Actor,
    projectName: string,
    key: string,
    patch: EnvironmentPatch,
  ): Promise<EnvironmentView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, key);
    const changed: string[] = [];
    const set = <K extends keyof IEnvironment>(field: K, value: IEnvironment[K] | undefined) => {
      const current = environment[field];
      const same =
        current instanceof Date && value instanceof Date
          ? current.getTime() === value.getTime()
          : current === value;
      if (value !== undefined && !same) {
        environment[field] = value;
        changed.push(String(field));
      }
    };
    set('tier', patch.tier);
    if (patch.branch !== undefined) set('branch', validateRef(patch.branch));
    set('externalUrl', patch.externalUrl);
    set('healthCheckUrl', patch.healthCheckUrl);
    set('description', patch.description);
    set('autoStopSetting', patch.autoStopSetting);
    set('autoStopAt', patch.autoStopAt);
    set('commitBehaviour', patch.commitBehaviour);
    set('approvalsRequired', patch.approvalsRequired);
    set('approverRole', patch.approverRole);
    set('approvalTtlMinutes', patch.approvalTtlMinutes);
    if (patch.servers !== undefined) {
      if (replaceServers(environment.servers, await findServers(em, project, patch.servers))) {
        changed.push('servers');
      }
    }
    if (changed.length) {
      recordAudit(em, actor, {
        action: 'environment.update',
        result: 'ok',
        projectId: project.id,
        targetType: 'environment',
        targetId: environment.id,
        details: { changed },
      });
      await withConstraintErrors(() => em.flush(), {
        environments_approvals_required_check: 'approvals_required must be between 0 and 10.',
        environments_approval_ttl_minutes_check: 'approval_ttl_minutes must be between 1 and 10080.',
      });
    }
    return this.get(project.name, environment.id);
  }

  /** GitLab's rule: only a stopped environment can be deleted. */
  async remove(actor: Actor, projectName: string, key: string): Promise<void> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, key);
    if (environment.state !== 'stopped') {
      throw new SlipwayError(
        'refused',
        `${environment.name} is ${environment.state}: stop it before deleting it.`,
      );
    }
    await this.destroy(em, actor, project, environment, 'environment.delete');
  }

  /**
   * Stops the environment: no deploys until it is started again. Deployments waiting for
   * approval or in the queue are cancelled; a running one makes the stop wait (refused now).
   */
  async stop(actor: Actor, projectName: string, key: string): Promise<StopOutcome> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, key);
    return this.stopOne(em, actor, project, environment, 'environment.stop');
  }

  async start(actor: Actor, projectName: string, key: string): Promise<EnvironmentView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, key);
    if (environment.state !== 'available') {
      environment.state = 'available';
      recordAudit(em, actor, {
        action: 'environment.start',
        result: 'ok',
        projectId: project.id,
        targetType: 'environment',
        targetId: environment.id,
      });
      await em.flush();
    }
    return this.get(project.name, environment.id);
  }

  async setCommitBehaviour(
    actor: Actor,
    projectName: string,
    key: string,
    behaviour: CommitBehaviour,
  ): Promise<EnvironmentView> {
    return this.update(actor, projectName, key, { commitBehaviour: behaviour });
  }

  /**
   * GitLab's stop_stale: stops every environment last changed and last deployed to before
   * `before`, which must lie between 10 years and 1 week ago. Production-tier environments
   * are protected and never stopped this way; one with a running deployment is skipped.
   */
  async stopStale(
    actor: Actor,
    projectName: string,
    before: Date,
    now = new Date(),
  ): Promise<{ stopped: string[]; skipped: { name: string; reason: string }[] }> {
    if (Number.isNaN(before.getTime())) {
      throw new SlipwayError('invalid_input', 'before must be a date.', { field: 'before' });
    }
    if (before.getTime() > now.getTime() - WEEK_MS || before.getTime() < now.getTime() - TEN_YEARS_MS) {
      throw new SlipwayError('invalid_input', 'before must be between 10 years ago and 1 week ago.', {
        field: 'before',
      });
    }
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const candidates = await em.find(
      Environment,
      { project, state: 'available', tier: { $ne: 'production' }, updatedAt: { $lt: before } },
      { populate: ['servers'], orderBy: { name: 'asc' } },
    );
    const stopped: string[] = [];
    const skipped: { name: string; reason: string }[] = [];
    for (const environment of candidates) {
      const recent = await em.count(Deployment, { environment, createdAt: { $gte: before } });
      if (recent) continue;
      try {
        await this.stopOne(em.fork(), actor, project, environment, 'environment.stop_stale');
        stopped.push(environment.name);
      } catch (error) {
        if (!(error instanceof SlipwayError)) throw error;
        skipped.push({ name: environment.name, reason: error.message });
      }
    }
    return { stopped, skipped };
  }

  /**
   * The auto-stop sweep: environments whose auto_stop_at has passed. `always` cancels what is
   * waiting and stops; `with_action` stops only while nothing is waiting, queued or running.
   * A running deployment is never interrupted: the next sweep tries again.
   */
  async stopDue(now = new Date()): Promise<string[]> {
    const em = this.orm.em.fork();
    const due = await em.find(
      Environment,
      { state: 'available', autoStopAt: { $lte: now } },
      { populate: ['project', 'servers'], limit: 100 },
    );
    const stopped: string[] = [];
    const system: Actor = { memberId: null, name: 'Slipway (auto-stop)', source: 'system' };
    for (const environment of due) {
      const blocking: IDeployment['status'][] =
        environment.autoStopSetting === 'always' ? ['running'] : ['awaiting_approval', 'queued', 'running'];
      const busy = await em.count(Deployment, { environment, status: { $in: blocking } });
      if (busy) continue;
      try {
        await this.stopOne(em.fork(), system, environment.project, environment, 'environment.auto_stop');
        stopped.push(`${environment.project.name}/${environment.name}`);
      } catch (error) {
        if (!(error instanceof SlipwayError)) throw error;
      }
    }
    return stopped;
  }

  private async stopOne(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    environment: IEnvironment,
    action: string,
  ): Promise<StopOutcome> {
    const running = await em.findOne(Deployment, { environment: environment.id, status: 'running' });
    if (running) {
      throw new SlipwayError(
        'refused',
        `Deployment #${running.number} is running on ${environment.name}; stop the environment when it ends, or cancel it first.`,
      );
    }
    const outcome = await em.transactional(async (tx) => {
      const waiting = await tx.find(Deployment, {
        environment: environment.id,
        status: { $in: ['awaiting_approval', 'queued'] },
      });
      const now = new Date();
      for (const deployment of waiting) {
        deployment.status = 'cancelled';
        deployment.finishedAt = now;
        deployment.cancelRequestedAt = now;
        deployment.cancelRequestedBy = actor.name;
      }
      if (waiting.length) {
        await tx.nativeUpdate(
          ApprovalRequest,
          { deployment: { $in: waiting.map((d) => d.id) }, status: 'pending' },
          { status: 'cancelled', closedAt: now },
        );
      }
      const wasStopped = environment.state === 'stopped';
      await tx.nativeUpdate(
        Environment,
        { id: environment.id },
        { state: 'stopped', autoStopAt: null, ...(wasStopped ? {} : { updatedAt: now }) },
      );
      recordAudit(tx, actor, {
        action,
        result: 'ok',
        projectId: project.id,
        targetType: 'environment',
        targetId: environment.id,
        details: { cancelled: waiting.map((d) => d.number) },
      });
      return waiting.map((d) => d.number);
    });
    environment.state = 'stopped';
    environment.autoStopAt = null;
    const [view] = await this.views(em, project, [environment]);
    let destroyed = false;
    if (environment.autoDestroy) {
      await this.destroy(em, actor, project, environment, 'environment.auto_destroy');
      destroyed = true;
    }
    return { environment: view!, destroyed, cancelledDeployments: outcome };
  }

  /** Deletes a stopped environment (its deployments go with it, as in GitLab). */
  async destroy(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    environment: IEnvironment,
    action: string,
  ): Promise<void> {
    const active = await em.findOne(Deployment, {
      environment: environment.id,
      status: { $in: [...ACTIVE_DEPLOYMENT_STATUSES] },
    });
    if (active) {
      throw new SlipwayError(
        'refused',
        `Deployment #${active.number} to ${environment.name} is ${active.status}.`,
      );
    }
    recordAudit(em, actor, {
      action,
      result: 'ok',
      projectId: project.id,
      targetType: 'environment',
      targetId: environment.id,
      details: { name: environment.name },
    });
    await em.flush();
    await em.nativeDelete(Environment, { id: environment.id });
  }

  async views(
    em: EntityManager,
    project: IProject,
    environments: IEnvironment[],
  ): Promise<EnvironmentView[]> {
    if (environments.length === 0) return [];
    const locks = await em.find(Lock, {
      environment: { $in: environments.map((e) => e.id) },
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
    });
    const sourceIds = environments.map((e) => e.clonedFrom?.id).filter((id): id is string => !!id);
    const sources = sourceIds.length ? await em.find(Environment, { id: { $in: sourceIds } }) : [];
    return environments.map((environment) => {
      const lock = locks.find((l) => l.environment.id === environment.id);
      return {
        id: environment.id,
        project: project.name,
        name: environment.name,
        slug: environment.slug,
        description: environment.description ?? null,
        externalUrl: environment.externalUrl ?? null,
        healthCheckUrl: environment.healthCheckUrl ?? null,
        state: environment.state,
        tier: environment.tier,
        branch: environment.branch,
        servers: environment.servers
          .getItems()
          .map((s) => s.name)
          .sort(),
        autoStopAt: environment.autoStopAt ?? null,
        autoStopSetting: environment.autoStopSetting,
        commitBehaviour: environment.commitBehaviour,
        approvalsRequired: environment.approvalsRequired,
        approverRole: environment.approverRole,
        approvalTtlMinutes: environment.approvalTtlMinutes,
        clonedFrom: sources.find((s) => s.id === environment.clonedFrom?.id)?.name ?? null,
        autoDestroy: environment.autoDestroy,
        lock: lock
          ? {
              holder: lock.holderName,
              reason: lock.reason ?? null,
              since: lock.createdAt,
              expiresAt: lock.expiresAt ?? null,
            }
          : null,
        live: environment.liveRelease
          ? {
              release: environment.liveRelease,
              commit: environment.liveCommit ?? null,
              deploymentId: environment.liveDeployment?.id ?? null,
              since: environment.liveSince ?? null,
            }
          : null,
        createdAt: environment.createdAt,
        updatedAt: environment.updatedAt,
      };
    });
  }
}

export function deploymentSummary(d: IDeployment): DeploymentSummary {
  return {
    id: d.id,
    number: d.number,
    kind: d.kind,
    status: d.status,
    ref: d.ref,
    commit: d.commitHash ?? null,
    commitAuthor: d.commitAuthor ?? null,
    commitMessage: d.commitMessage ?? null,
    requestedBy: d.requestedByName,
    source: d.source,
    createdAt: d.createdAt,
    startedAt: d.startedAt ?? null,
    finishedAt: d.finishedAt ?? null,
  };
}
