import type { EntityManager } from '@mikro-orm/postgresql';
import {
  Approval,
  ApprovalRequest,
  Deployment,
  type DeploymentChanges,
  DeploymentStep,
  Environment,
  type IDeployment,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { EnvironmentTier, StepStatus } from '../../vocabulary.js';
import { findEnvironment, findProject } from '../lookup.js';
import { findDeployment } from './deployment-service.js';
import type { FreezeStatus, FreezeWindows } from './freeze-service.js';

export interface StepView {
  name: string;
  status: StepStatus;
  outputTail: string | null;
}

export interface ServerProgress {
  server: string;
  done: number;
  total: number;
  current: string | null;
  failed: StepView | null;
}

export interface ApprovalView {
  status: string;
  required: number;
  approverRole: string;
  approvedBy: string[];
  rejectedBy: string[];
  expiresAt: Date;
}

export interface DeploymentView {
  id: string;
  number: number;
  project: string;
  environment: string;
  kind: string;
  status: IDeployment['status'];
  ref: string;
  commit: string | null;
  /** The commit's message (its first line is what cards show) and author, read from git. */
  commitMessage: string | null;
  commitAuthor: string | null;
  /** The commits between what was live and what this ships. */
  changes: DeploymentChanges | null;
  promotedFrom: string | null;
  requestedBy: string;
  requestedById: string | null;
  releaseName: string | null;
  /** An admin forced it past a test gate or a freeze, and why. */
  forced: boolean;
  forceReason: string | null;
  /** The release that was live before this one (null: nothing was, so there is nothing to roll back to). */
  previousRelease: string | null;
  failureReason: string | null;
  cancelRequestedBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  servers: ServerProgress[];
  approval: ApprovalView | null;
}

export interface EnvironmentSummary {
  project: string;
  name: string;
  tier: EnvironmentTier;
  branch: string;
  state: string;
  servers: string[];
  approvalsRequired: number;
  /** What `current` points at (stored when an activation or a rollback completes). */
  liveCommit: string | null;
  liveRelease: string | null;
  liveSince: Date | null;
  /** The number of the deployment that built the live release. */
  liveDeployment: number | null;
  lastDeploy: { number: number; status: string; by: string; at: Date } | null;
  lock: { holder: string; reason: string | null; since: Date; expiresAt: Date | null } | null;
  pendingApprovals: number;
  /** A deploy freeze in force now, and the next one (null: the environment has no freeze windows). */
  freeze: FreezeStatus | null;
}

/** Read models for chat and the console: deployments with their steps and approvals, environments. */
export class DeploymentViews {
  constructor(
    private readonly orm: Orm,
    private readonly freezes?: FreezeWindows,
  ) {}

  async deployment(idOrNumber: string): Promise<DeploymentView> {
    const em = this.orm.em.fork();
    const d = await findDeployment(em, idOrNumber);
    const steps = await em.find(
      DeploymentStep,
      { deployment: d.id },
      { orderBy: { serverName: 'asc', position: 'asc' } },
    );
    const approval = await this.approvalOf(em, d.id);
    const promotedFrom = d.promotedFrom ? await em.findOne(Environment, { id: d.promotedFrom.id }) : null;
    const byServer = new Map<string, StepView[]>();
    for (const step of steps) {
      const list = byServer.get(step.serverName) ?? [];
      list.push({ name: step.name, status: step.status, outputTail: step.outputTail ?? null });
      byServer.set(step.serverName, list);
    }
    const servers: ServerProgress[] = [...byServer].map(([server, list]) => ({
      server,
      done: list.filter((s) => s.status === 'finished' || s.status === 'skipped').length,
      total: list.length,
      current: list.find((s) => s.status === 'running')?.name ?? null,
      failed: list.find((s) => s.status === 'failed') ?? null,
    }));
    return {
      id: d.id,
      number: d.number,
      project: d.project.name,
      environment: d.environment.name,
      kind: d.kind,
      status: d.status,
      ref: d.ref,
      commit: d.commitHash ?? null,
      commitMessage: d.commitMessage ?? null,
      commitAuthor: d.commitAuthor ?? null,
      changes: d.changes ?? null,
      promotedFrom: promotedFrom?.name ?? null,
      requestedBy: d.requestedByName,
      requestedById: d.requestedBy?.id ?? null,
      releaseName: d.releaseName ?? null,
      forced: d.forced,
      forceReason: d.forceReason ?? null,
      previousRelease: d.previousRelease ?? null,
      failureReason: d.failureReason ?? null,
      cancelRequestedBy: d.cancelRequestedBy ?? null,
      createdAt: d.createdAt,
      startedAt: d.startedAt ?? null,
      finishedAt: d.finishedAt ?? null,
      durationMs: d.startedAt && d.finishedAt ? d.finishedAt.getTime() - d.startedAt.getTime() : null,
      servers,
      approval,
    };
  }

  /** The deployment's approval request with who approved and rejected it, or null if it needs none. */
  async approvalOf(em: EntityManager, deploymentId: string): Promise<ApprovalView | null> {
    const request = await em.findOne(ApprovalRequest, { deployment: deploymentId });
    if (!request) return null;
    const decisions = await em.find(Approval, { request }, { orderBy: { createdAt: 'asc' } });
    return {
      status: request.status,
      required: request.requiredCount,
      approverRole: request.approverRole,
      approvedBy: decisions.filter((a) => a.decision === 'approve').map((a) => a.memberName),
      rejectedBy: decisions.filter((a) => a.decision === 'reject').map((a) => a.memberName),
      expiresAt: request.expiresAt,
    };
  }

  async history(projectName: string, environmentName: string, limit = 10): Promise<DeploymentView[]> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironment(em, project, environmentName);
    const rows = await em.find(
      Deployment,
      { environment },
      { orderBy: { createdAt: 'desc' }, limit, fields: ['id'] },
    );
    return Promise.all(rows.map((row) => this.deployment(row.id)));
  }

  async environments(projectName?: string): Promise<EnvironmentSummary[]> {
    const em = this.orm.em.fork();
    const rows = await this.summaries(em, projectName ?? null, null);
    // Only an empty answer needs to know why: no such project (with the names that exist), or none yet.
    if (projectName && rows.length === 0) await findProject(em, projectName);
    return rows;
  }

  async environment(projectName: string, environmentName: string): Promise<EnvironmentSummary> {
    const em = this.orm.em.fork();
    const [row] = await this.summaries(em, projectName, environmentName);
    if (row) return row;
    await findEnvironment(em, await findProject(em, projectName), environmentName);
    throw new Error('unreachable: findEnvironment throws when the environment is missing');
  }

  /**
   * Every summary in one round trip (chat's status and env commands run under load, and each
   * query costs a round trip and ORM work): the live commit, the last deployment, the lock and
   * the pending approvals of each environment come from lateral subqueries.
   */
  private async summaries(
    em: EntityManager,
    projectName: string | null,
    environmentName: string | null,
  ): Promise<EnvironmentSummary[]> {
    const rows = await em.getConnection().execute<SummaryRow[]>(
      `select e.id, p.name as project, e.name, e.tier, e.branch, e.state, e.approvals_required,
         coalesce((select array_agg(s.name order by s.name) from environment_servers es
                   join servers s on s.id = es.server_id where es.environment_id = e.id), '{}') as servers,
         e.live_commit, e.live_release, e.live_since, live.number as live_number,
         last.number as last_number, last.status as last_status,
         last.requested_by_name as last_by, last.created_at as last_at,
         l.holder_name as lock_holder, l.reason as lock_reason,
         l.created_at as lock_since, l.expires_at as lock_expires_at,
         (select count(*) from approval_requests ar join deployments d on d.id = ar.deployment_id
           where ar.status = 'pending' and d.environment_id = e.id)::int as pending_approvals
       from environments e
       join projects p on p.id = e.project_id
       left join deployments live on live.id = e.live_deployment_id
       left join lateral (select d.number, d.status, d.requested_by_name, d.created_at from deployments d
           where d.environment_id = e.id order by d.created_at desc limit 1) last on true
       left join locks l on l.environment_id = e.id and (l.expires_at is null or l.expires_at > now())
       where (?::text is null or p.name = ?) and (?::text is null or e.name = ?)
       order by p.name, e.name`,
      [projectName, projectName, environmentName, environmentName],
    );
    const freezes = (await this.freezes?.statusOf(rows.map((r) => r.id))) ?? new Map<string, FreezeStatus>();
    return rows.map((r) => ({
      project: r.project,
      name: r.name,
      tier: r.tier,
      branch: r.branch,
      state: r.state,
      servers: r.servers,
      approvalsRequired: r.approvals_required,
      liveCommit: r.live_commit,
      liveRelease: r.live_release,
      liveSince: r.live_since ? new Date(r.live_since) : null,
      liveDeployment: r.live_number,
      lastDeploy:
        r.last_number === null
          ? null
          : {
              number: r.last_number,
              status: r.last_status ?? '',
              by: r.last_by ?? '',
              at: new Date(r.last_at ?? 0),
            },
      lock:
        r.lock_holder === null
          ? null
          : {
              holder: r.lock_holder,
              reason: r.lock_reason,
              since: new Date(r.lock_since ?? 0),
              expiresAt: r.lock_expires_at ? new Date(r.lock_expires_at) : null,
            },
      pendingApprovals: r.pending_approvals,
      freeze: freezes.get(r.id) ?? null,
    }));
  }
}

interface SummaryRow {
  id: string;
  project: string;
  name: string;
  tier: EnvironmentTier;
  branch: string;
  state: string;
  approvals_required: number;
  servers: string[];
  live_commit: string | null;
  live_release: string | null;
  live_since: Date | string | null;
  live_number: number | null;
  last_number: number | null;
  last_status: string | null;
  last_by: string | null;
  last_at: Date | string | null;
  lock_holder: string | null;
  lock_reason: string | null;
  lock_since: Date | string | null;
  lock_expires_at: Date | string | null;
  pending_approvals: number;
}
