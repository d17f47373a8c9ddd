import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import {
  ChatIdentity,
  type IPipelineExecution,
  Pipeline,
  PipelineExecution,
  PipelineExecutionStep,
  PipelineStage,
  PipelineStep,
  type PostedMessage,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { validateRef } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import type { PipelineQueue } from '../../jobs/pipeline-queue.js';
import { ACTIVE_PIPELINE_STATUSES, type Role, roleAtLeast } from '../../vocabulary.js';
import { type AccessPolicy, type Actor, recordAudit } from '../access/index.js';
import type { CommitContext, CommitResolver, DeployGate, FreezeWindows } from '../deployments/index.js';
import { findProject, isUuid } from '../lookup.js';
import {
  type NotificationEmitter,
  type PipelineExecutionSnapshot,
  pipelineExecutionSubject,
} from '../notifications/index.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import { executionSnapshot } from './execution-views.js';
import { findPipeline } from './pipeline-service.js';

export interface StartInput {
  /** A branch, tag or full sha; the first stage's branch when omitted. */
  ref?: string;
  /** Go on past `warn` test gates. */
  confirm?: boolean;
  /** Admins: past any test gate, and with a reason through freezes (audited). */
  force?: boolean;
  reason?: string;
}

export interface ExecutionPage {
  executions: PipelineExecutionSnapshot[];
  /** Escape's paging: pass this as page_from for the next (older) page; null on the last. */
  nextPageFrom: number | null;
}

export const MAX_PAGE_SIZE = 100;

/**
 * Runs of a project's pipelines (Escape's executions): starting one for a commit, the people's
 * confirmations and rejections, and reading them back page by page. The runs themselves are
 * advanced by the PipelineRunner, from the job queue.
 */
export class PipelineExecutions {
  constructor(
    private readonly deps: {
      orm: Orm;
      queue: PipelineQueue;
      access: AccessPolicy;
      resolver: CommitResolver;
      commits: CommitContext;
      secrets: SecretBox;
      gate?: DeployGate;
      freezes: FreezeWindows;
      notifications?: NotificationEmitter;
      onProgress?: (executionId: string) => void;
    },
  ) {}

  /**
   * Starts a run: the commit is resolved once (every stage deploys it), every stage's test gate
   * and freeze are checked before anything is recorded, and the steps are copied from the
   * pipeline. One run of a pipeline at a time (the database holds that).
   */
  async start(
    actor: Actor,
    projectName: string,
    pipelineName: string | null,
    input: StartInput = {},
  ): Promise<PipelineExecutionSnapshot> {
    const em = this.deps.orm.em.fork();
    const project = await findProject(em, projectName);
    const pipeline = pipelineName
      ? await findPipeline(em, project, pipelineName)
      : await this.only(em, project);
    if (input.force) await this.deps.access.require(actor, project.name, 'admin', 'force a pipeline run');
    const stages = await em.find(
      PipelineStage,
      { pipeline },
      { populate: ['environment', 'environment.servers'], orderBy: { position: 'asc' } },
    );
    const broken = stages.find((stage) => !stage.environment);
    if (broken || stages.length === 0) {
      throw new SlipwayError(
        'refused',
        `Pipeline ${pipeline.name} ${broken ? `has a stage (${broken.position + 1}) whose environment was deleted` : 'has no stages'}: fix it first.`,
      );
    }
    const active = await em.findOne(PipelineExecution, {
      pipeline,
      status: { $in: [...ACTIVE_PIPELINE_STATUSES] },
    });
    const busy = active
      ? `Pipeline ${pipeline.name} is still running: run #${active.runNumber} (${active.ref}, by ${active.requestedByName}) is ${active.status}.`
      : `Pipeline ${pipeline.name} is still running.`;
    if (active) throw new SlipwayError('refused', busy);

    const first = stages[0]!.environment!;
    const ref = validateRef(input.ref ?? first.branch);
    const privateKey = this.deps.secrets.open(project.sshPrivateKey, SECRET_PURPOSE.projectSshKey);
    const commit = await this.deps.resolver.resolve(project.repository, ref, privateKey);
    for (const stage of stages) {
      const environment = stage.environment!;
      const freeze = await this.deps.freezes.inForce(em, environment);
      if (freeze && !(input.force && input.reason?.trim())) {
        throw new SlipwayError(
          'refused',
          `${environment.name} is frozen until ${utc(freeze.until)}${freeze.reason ? `: ${freeze.reason}` : ''}. An admin may force the run with a reason.`,
          { frozen: true },
        );
      }
      if (!this.deps.gate || input.force) continue;
      const verdict = await this.deps.gate.evaluate(project, commit.hash, environment.tier);
      if (!verdict.passed && (verdict.mode === 'block' || !input.confirm)) {
        recordAudit(em, actor, {
          action: 'pipeline.execution.test_gate',
          result: 'refused',
          projectId: project.id,
          targetType: 'pipeline',
          targetId: pipeline.id,
          details: { environment: environment.name, commit: commit.hash, gate: verdict.mode },
        });
        await em.flush();
        throw new SlipwayError(
          'refused',
          `Stage ${environment.name}: ${verdict.message.replace('confirm to promote', 'confirm to run')}`,
          {
            field: verdict.mode === 'warn' ? 'confirm' : 'force',
            gate: verdict.mode,
            environment: environment.name,
          },
        );
      }
    }
    const details = await this.deps.commits.details(project, commit.hash);
    const steps = await em.find(
      PipelineStep,
      { stage: { $in: stages.map((s) => s.id) } },
      { orderBy: { position: 'asc' } },
    );

    const execution = await withConstraintErrors(
      () =>
        em.transactional(async (tx) => {
          const [row] = await tx
            .getConnection()
            .execute<{ next: number }[]>(
              'select coalesce(max(run_number), 0) + 1 as next from pipeline_executions where pipeline_id = ?',
              [pipeline.id],
              'all',
              tx.getTransactionContext(),
            );
          const created = tx.create(PipelineExecution, {
            pipeline: pipeline.id,
            project: project.id,
            runNumber: Number(row?.next ?? 1),
            status: 'new',
            ref,
            commitHash: commit.hash,
            commitMessage: details?.message ?? null,
            commitAuthor: details?.author.slice(0, 255) ?? null,
            requestedBy: actor.memberId,
            requestedByName: actor.name,
            source: actor.source,
            confirmed: input.confirm === true,
            forced: input.force === true,
            forceReason: input.force ? (input.reason?.slice(0, 500) ?? null) : null,
            // Set here, not left to the column default: a new entity would hold the default's JSON text.
            messages: [],
          });
          for (const stage of stages) {
            steps
              .filter((step) => step.stage.id === stage.id)
              .forEach((step) => {
                tx.create(PipelineExecutionStep, {
                  execution: created,
                  phase: stage.position,
                  environment: stage.environment!.id,
                  environmentName: stage.environment!.name,
                  position: step.position,
                  kind: step.kind,
                  config: step.config,
                });
              });
          }
          recordAudit(tx, actor, {
            action: 'pipeline.execution.start',
            result: 'ok',
            projectId: project.id,
            targetType: 'pipeline_execution',
            targetId: created.id,
            details: {
              pipeline: pipeline.name,
              ref,
              commit: commit.hash,
              ...(input.force ? { forced: true, reason: input.reason ?? null } : {}),
            },
          });
          await tx.flush();
          await this.deps.queue.enqueue(created.id, tx);
          return created;
        }),
      { pipeline_executions_one_active: busy, pipeline_executions_run_number: busy },
    ).catch((error: unknown) => {
      // The database's run slot speaks Escape's words: the pipeline is still running (400).
      if (error instanceof SlipwayError && error.details?.constraint) throw new SlipwayError('refused', busy);
      throw error;
    });
    return this.snapshot(execution.id);
  }

  /**
   * A confirmation: the run must be waiting at one; the person must not be who started it, and
   * must hold the step's role on the project or be one of its named people. Approving moves the
   * run on; rejecting ends it. Refusals change nothing and are audited.
   */
  async decide(
    actor: Actor,
    executionId: string,
    decision: 'confirm' | 'reject',
  ): Promise<PipelineExecutionSnapshot> {
    if (!actor.memberId) throw new SlipwayError('forbidden', 'Only a known member can confirm or reject.');
    const memberId = actor.memberId;
    const em = this.deps.orm.em.fork();
    const outcome = await em.transactional(async (tx) => {
      const execution = await tx.findOne(
        PipelineExecution,
        { id: executionId },
        { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['project', 'pipeline'] },
      );
      if (!execution) throw new SlipwayError('not_found', `There is no pipeline run ${executionId}.`);
      const label = `Run #${execution.runNumber} of ${execution.pipeline.name}`;
      const refuse = async (message: string, code: SlipwayError['code'] = 'conflict') => {
        recordAudit(tx, actor, {
          action: `pipeline.${decision}`,
          result: 'refused',
          projectId: execution.project.id,
          targetType: 'pipeline_execution',
          targetId: execution.id,
          details: { reason: message },
        });
        await tx.flush();
        return { refused: new SlipwayError(code, message) };
      };
      const step = await tx.findOne(PipelineExecutionStep, {
        execution,
        kind: 'confirmation',
        status: 'pending',
      });
      if (!step) {
        return refuse(
          execution.status === 'ok' || execution.status === 'failed'
            ? `${label} has ended (${execution.status}); your click changed nothing.`
            : `${label} is not waiting for a confirmation; your click changed nothing.`,
        );
      }
      if (execution.requestedBy?.id === memberId) {
        return refuse(
          'You started this run, so you cannot confirm or reject it: someone else must.',
          'forbidden',
        );
      }
      const allowed = await this.mayDecide(tx, memberId, execution, step.config);
      if (!allowed.ok) return refuse(allowed.message, 'forbidden');
      const now = new Date();
      await tx.nativeUpdate(
        PipelineExecutionStep,
        { id: step.id },
        {
          status: decision === 'confirm' ? 'ok' : 'failed',
          decidedBy: memberId,
          decidedByName: actor.name,
          detail: decision === 'confirm' ? `Confirmed by ${actor.name}.` : `Rejected by ${actor.name}.`,
          finishedAt: now,
        },
      );
      if (decision === 'confirm') {
        await tx.nativeUpdate(PipelineExecution, { id: execution.id }, { status: 'running', updatedAt: now });
        await this.deps.queue.enqueue(execution.id, tx);
      } else {
        await failExecution(tx, execution.id, `Rejected by ${actor.name} at ${step.environmentName}.`);
      }
      recordAudit(tx, actor, {
        action: `pipeline.${decision}`,
        result: 'ok',
        projectId: execution.project.id,
        targetType: 'pipeline_execution',
        targetId: execution.id,
        details: { phase: step.environmentName },
      });
      await tx.flush();
      if (decision === 'reject') await this.emit(tx, 'pipeline.failed', execution.id, actor.name);
      return { done: execution.id };
    });
    if ('refused' in outcome) throw outcome.refused;
    this.deps.onProgress?.(outcome.done);
    return this.snapshot(outcome.done);
  }

  /** Escape's paging: newest first, `pageSize` of them, each with a run number below `pageFrom`. */
  async page(
    projectName: string,
    pipelineName: string,
    options: { pageSize?: number; pageFrom?: number } = {},
  ): Promise<ExecutionPage> {
    const size = options.pageSize ?? 20;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw new SlipwayError('invalid_input', `page_size must be between 1 and ${MAX_PAGE_SIZE}.`, {
        field: 'page_size',
      });
    }
    const em = this.deps.orm.em.fork();
    const project = await findProject(em, projectName);
    const pipeline = await findPipeline(em, project, pipelineName);
    const rows = await em.find(
      PipelineExecution,
      { pipeline, ...(options.pageFrom !== undefined ? { runNumber: { $lt: options.pageFrom } } : {}) },
      { orderBy: { runNumber: 'desc' }, limit: size + 1, fields: ['id', 'runNumber'] },
    );
    const shown = rows.slice(0, size);
    return {
      executions: await Promise.all(shown.map((row) => executionSnapshot(em.fork(), row.id))),
      nextPageFrom: rows.length > size ? (shown.at(-1)?.runNumber ?? null) : null,
    };
  }

  /** A run by id or by run number (`3`, `#3`), within its pipeline. */
  async get(projectName: string, pipelineName: string, key: string): Promise<PipelineExecutionSnapshot> {
    const em = this.deps.orm.em.fork();
    const project = await findProject(em, projectName);
    const pipeline = await findPipeline(em, project, pipelineName);
    const number = /^#?(\d{1,9})$/.exec(key)?.[1];
    const row = number
      ? await em.findOne(PipelineExecution, { pipeline, runNumber: Number(number) })
      : isUuid(key)
        ? await em.findOne(PipelineExecution, { pipeline, id: key })
        : null;
    if (!row) throw new SlipwayError('not_found', `Pipeline ${pipeline.name} has no run ${key}.`);
    return executionSnapshot(em, row.id);
  }

  /** The latest run of a pipeline, if any (the pipeline view and status show it). */
  async latest(projectName: string, pipelineName: string): Promise<PipelineExecutionSnapshot | null> {
    const page = await this.page(projectName, pipelineName, { pageSize: 1 });
    return page.executions[0] ?? null;
  }

  snapshot(executionId: string): Promise<PipelineExecutionSnapshot> {
    return executionSnapshot(this.deps.orm.em.fork(), executionId);
  }

  /** Remembers a chat message that shows this run, so it is edited in place later (restarts too). */
  async attachMessage(executionId: string, message: PostedMessage): Promise<void> {
    const em = this.deps.orm.em.fork();
    const execution = await em.findOne(PipelineExecution, { id: executionId });
    if (!execution) return;
    if (
      !execution.messages.some((m) => m.platform === message.platform && m.messageId === message.messageId)
    ) {
      execution.messages = [...execution.messages, message];
      await em.flush();
    }
  }

  async messagesOf(executionId: string): Promise<PostedMessage[]> {
    const execution = await this.deps.orm.em.fork().findOne(PipelineExecution, { id: executionId });
    return execution?.messages ?? [];
  }

  private async only(em: EntityManager, project: { id: string; name: string }) {
    const pipelines = await em.find(Pipeline, { project: project.id }, { orderBy: { name: 'asc' } });
    if (pipelines.length === 1) return pipelines[0]!;
    throw new SlipwayError(
      pipelines.length ? 'invalid_input' : 'not_found',
      pipelines.length
        ? `${project.name} has several pipelines (${pipelines.map((p) => p.name).join(', ')}): say which.`
        : `${project.name} has no pipeline to walk: define one (pipelines: in slipway.yml, or PUT /api/v1/projects/${project.name}/pipelines/<name>), or name the environments: promote ${project.name} <from-env> <to-env>.`,
    );
  }

  private async mayDecide(
    tx: EntityManager,
    memberId: string,
    execution: IPipelineExecution,
    config: { role?: Role; users?: string[] },
  ): Promise<{ ok: true } | { ok: false; message: string }> {
    if (config.users?.length) {
      const identities = await tx.find(ChatIdentity, { member: memberId });
      const keys = identities.map((i) => `${i.platform}:${i.workspace}:${i.userId}`);
      return keys.some((key) => config.users!.includes(key))
        ? { ok: true }
        : {
            ok: false,
            message: 'This confirmation is for the people the pipeline names, and you are not one of them.',
          };
    }
    const needed = config.role ?? 'approver';
    const held = await this.deps.access.roleOf(tx, memberId, execution.project);
    return held && roleAtLeast(held, needed)
      ? { ok: true }
      : {
          ok: false,
          message: `Only members with the ${needed} role on ${execution.project.name} can confirm this; you have ${held ? `the ${held} role` : 'no role'}.`,
        };
  }

  private async emit(tx: EntityManager, type: 'pipeline.failed', executionId: string, actor: string | null) {
    await emitPipelineNotification(this.deps.notifications, tx, type, executionId, actor);
  }
}

/** Ends a run as failed: its steps not yet run are skipped. */
export async function failExecution(tx: EntityManager, executionId: string, reason: string): Promise<void> {
  const now = new Date();
  await tx.nativeUpdate(
    PipelineExecutionStep,
    { execution: executionId, status: 'new' },
    { status: 'skipped' },
  );
  await tx.nativeUpdate(
    PipelineExecution,
    { id: executionId, status: { $in: [...ACTIVE_PIPELINE_STATUSES] } },
    { status: 'failed', failureReason: reason, finishedAt: now, updatedAt: now },
  );
}

/** Writes a pipeline notification to the outbox inside `tx`, with the run as this transaction sees it. */
export async function emitPipelineNotification(
  notifications: NotificationEmitter | undefined,
  tx: EntityManager,
  type: 'pipeline.started' | 'pipeline.waiting' | 'pipeline.finished' | 'pipeline.failed',
  executionId: string,
  actor: string | null = null,
): Promise<void> {
  if (!notifications) return;
  const execution = await executionSnapshot(tx, executionId);
  const row = await tx.findOne(PipelineExecution, { id: executionId }, { fields: ['project'] });
  await notifications.emit(tx, {
    type,
    projectId: row?.project.id ?? null,
    project: execution.project,
    subject: pipelineExecutionSubject(executionId),
    data: { execution, actor },
  });
}

function utc(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}
