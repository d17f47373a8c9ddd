import { Deployment, DeploymentStep, type IDeployment } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import type { DeploymentStatus, StepStatus } from '../../vocabulary.js';
import { findEnvironmentByKey, findProject } from '../lookup.js';
import { findDeployment } from './deployment-service.js';
import type { ApprovalView, DeploymentViews } from './deployment-views.js';

export interface DeploymentListItem {
  id: string;
  number: number;
  project: string;
  environment: string;
  kind: string;
  status: DeploymentStatus;
  ref: string;
  commit: string | null;
  commitAuthor: string | null;
  commitMessage: string | null;
  promotedFrom: string | null;
  requestedBy: string;
  source: string;
  forced: boolean;
  releaseName: string | null;
  failureReason: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface StepRecord {
  position: number;
  name: string;
  kind: 'action' | 'hook';
  status: StepStatus;
  exitCode: number | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Last few KiB of output, secrets redacted by the engine. */
  outputTail: string | null;
}

export interface DeploymentDetail extends DeploymentListItem {
  cancelRequestedBy: string | null;
  approval: ApprovalView | null;
  /** Envoyer's "processes": each server's steps in order. */
  servers: { server: string; steps: StepRecord[] }[];
}

export const MAX_PAGE = 100;

/** Deployment history for the API: pages of a project's deployments, and one with its steps. */
export class DeploymentRecords {
  constructor(
    private readonly orm: Orm,
    private readonly views: DeploymentViews,
  ) {}

  async page(
    projectName: string,
    options: { environment?: string; status?: DeploymentStatus; limit?: number; offset?: number } = {},
  ): Promise<{ total: number; items: DeploymentListItem[] }> {
    const limit = options.limit ?? 20;
    const offset = options.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new SlipwayError('invalid_input', `limit must be between 1 and ${MAX_PAGE}.`, { field: 'limit' });
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new SlipwayError('invalid_input', 'offset must be 0 or more.', { field: 'offset' });
    }
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const where: Record<string, unknown> = { project };
    if (options.environment !== undefined) {
      where.environment = await findEnvironmentByKey(em, project, options.environment);
    }
    if (options.status !== undefined) where.status = options.status;
    const [rows, total] = await em.findAndCount(Deployment, where, {
      populate: ['environment', 'promotedFrom'],
      // number is unique and grows with time: a stable order across pages.
      orderBy: { number: 'desc' },
      limit,
      offset,
    });
    return { total, items: rows.map((row) => item(project.name, row)) };
  }

  async detail(projectName: string, idOrNumber: string): Promise<DeploymentDetail> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const deployment = await findDeployment(em, idOrNumber);
    if (deployment.project.id !== project.id) {
      throw new SlipwayError('not_found', `Project ${project.name} has no deployment ${idOrNumber}.`);
    }
    await em.populate(deployment, ['promotedFrom']);
    const steps = await em.find(
      DeploymentStep,
      { deployment },
      { orderBy: { serverName: 'asc', position: 'asc' } },
    );
    const servers = new Map<string, StepRecord[]>();
    for (const step of steps) {
      const list = servers.get(step.serverName) ?? [];
      list.push({
        position: step.position,
        name: step.name,
        kind: step.kind,
        status: step.status,
        exitCode: step.exitCode ?? null,
        startedAt: step.startedAt ?? null,
        finishedAt: step.finishedAt ?? null,
        outputTail: step.outputTail ?? null,
      });
      servers.set(step.serverName, list);
    }
    return {
      ...item(project.name, deployment),
      cancelRequestedBy: deployment.cancelRequestedBy ?? null,
      approval: await this.views.approvalOf(em, deployment.id),
      servers: [...servers].map(([server, list]) => ({ server, steps: list })),
    };
  }
}

function item(project: string, d: IDeployment): DeploymentListItem {
  return {
    id: d.id,
    number: d.number,
    project,
    environment: d.environment.name,
    kind: d.kind,
    status: d.status,
    ref: d.ref,
    commit: d.commitHash ?? null,
    commitAuthor: d.commitAuthor ?? null,
    commitMessage: d.commitMessage ?? null,
    promotedFrom: d.promotedFrom?.name ?? null,
    requestedBy: d.requestedByName,
    source: d.source,
    forced: d.forced,
    releaseName: d.releaseName ?? null,
    failureReason: d.failureReason ?? null,
    createdAt: d.createdAt,
    startedAt: d.startedAt ?? null,
    finishedAt: d.finishedAt ?? null,
  };
}
