import type { EntityManager } from '@mikro-orm/postgresql';
import {
  Approval,
  ApprovalRequest,
  Deployment,
  DeploymentStep,
  Environment,
  type EnvironmentTier,
  type IDeployment,
  type IEnvironment,
  Lock,
  Project,
  type StepStatus,
} from '../db/entities/index.js';
import type { Orm } from '../db/orm.js';
import { findDeployment } from './deployment-service.js';
import { findEnvironment, findProject } from './lookup.js';

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
  promotedFrom: string | null;
  requestedBy: string;
  requestedById: string | null;
  releaseName: string | null;
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
  liveCommit: string | null;
  lastDeploy: { number: number; status: string; by: string; at: Date } | null;
  lock: { holder: string; reason: string | null; since: Date; expiresAt: Date | null } | null;
  pendingApprovals: number;
}

/** Read models for chat and the console: deployments with their steps and approvals, environments. */
export class DeploymentViews {
  constructor(private readonly orm: Orm) {}

  async deployment(idOrNumber: string): Promise<DeploymentView> {
    const em = this.orm.em.fork();
    const d = await findDeployment(em, idOrNumber);
    const steps = await em.find(
      DeploymentStep,
      { deployment: d.id },
      { orderBy: { serverName: 'asc', position: 'asc' } },
    );
    const request = await em.findOne(ApprovalRequest, { deployment: d.id });
    const decisions = request ? await em.find(Approval, { request }, { orderBy: { createdAt: 'asc' } }) : [];
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
      promotedFrom: promotedFrom?.name ?? null,
      requestedBy: d.requestedByName,
      requestedById: d.requestedBy?.id ?? null,
      releaseName: d.releaseName ?? null,
      failureReason: d.failureReason ?? null,
      cancelRequestedBy: d.cancelRequestedBy ?? null,
      createdAt: d.createdAt,
      startedAt: d.startedAt ?? null,
      finishedAt: d.finishedAt ?? null,
      durationMs: d.startedAt && d.finishedAt ? d.finishedAt.getTime() - d.startedAt.getTime() : null,
      servers,
      approval: request
        ? {
            status: request.status,
            required: request.requiredCount,
            approverRole: request.approverRole,
            approvedBy: decisions.filter((a) => a.decision === 'approve').map((a) => a.memberName),
            rejectedBy: decisions.filter((a) => a.decision === 'reject').map((a) => a.memberName),
            expiresAt: request.expiresAt,
          }
        : null,
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
    const projects = projectName
      ? [await findProject(em, projectName)]
      : await em.find(Project, {}, { orderBy: { name: 'asc' } });
    const out: EnvironmentSummary[] = [];
    for (const project of projects) {
      const environments = await em.find(
        Environment,
        { project },
        { populate: ['servers'], orderBy: { name: 'asc' } },
      );
      out.push(
        ...(await Promise.all(
          environments.map((environment) => this.summary(em, project.name, environment)),
        )),
      );
    }
    return out;
  }

  async environment(projectName: string, environmentName: string): Promise<EnvironmentSummary> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironment(em, project, environmentName);
    return this.summary(em, project.name, environment);
  }

  private async summary(
    em: EntityManager,
    projectName: string,
    environment: IEnvironment,
  ): Promise<EnvironmentSummary> {
    const [live, last, lock, pendingApprovals] = await Promise.all([
      em
        .fork()
        .findOne(
          Deployment,
          { environment: environment.id, status: 'finished', kind: { $in: ['deploy', 'promote'] } },
          { orderBy: { finishedAt: 'desc' } },
        ),
      em.fork().findOne(Deployment, { environment: environment.id }, { orderBy: { createdAt: 'desc' } }),
      em.fork().findOne(Lock, {
        environment: environment.id,
        $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
      }),
      em.fork().count(ApprovalRequest, { status: 'pending', deployment: { environment: environment.id } }),
    ]);
    return {
      project: projectName,
      name: environment.name,
      tier: environment.tier,
      branch: environment.branch,
      state: environment.state,
      servers: environment.servers.getItems().map((s) => s.name),
      approvalsRequired: environment.approvalsRequired,
      liveCommit: live?.commitHash ?? null,
      lastDeploy: last
        ? { number: last.number, status: last.status, by: last.requestedByName, at: last.createdAt }
        : null,
      lock: lock
        ? {
            holder: lock.holderName,
            reason: lock.reason ?? null,
            since: lock.createdAt,
            expiresAt: lock.expiresAt ?? null,
          }
        : null,
      pendingApprovals,
    };
  }
}
