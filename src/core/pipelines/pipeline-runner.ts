import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  Environment,
  type IDeployment,
  type IEnvironment,
  type IPipelineExecution,
  type IPipelineExecutionStep,
  Pipeline,
  PipelineExecution,
  PipelineExecutionStep,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { type DeploymentRunner, envFileSecretValues } from '../../engine/index.js';
import { isSlipwayError } from '../../errors.js';
import type { PipelineQueue } from '../../jobs/pipeline-queue.js';
import type { Logger } from '../../logger.js';
import type { Actor } from '../access/index.js';
import {
  type DeploymentPlanBuilder,
  type DeploymentService,
  planServer,
  RUNNER_IS_GONE_SQL,
  type RunLiveness,
} from '../deployments/index.js';
import type { NotificationEmitter } from '../notifications/index.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import { emitPipelineNotification, failExecution } from './pipeline-executions.js';
import { type OutboundFetch, triggerWebhook } from './webhook-trigger.js';

/** A smoke or webhook step whose worker died is tried again, this many times in all. */
const MAX_ATTEMPTS = 3;
/** A step claimed this recently counts as alive, whatever its liveness lock says (it is being taken). */
const CLAIM_GRACE_SECONDS = 10;
const ENDED = new Set(['finished', 'failed', 'cancelled', 'rejected', 'expired']);

type Next =
  | { kind: 'wait' }
  | { kind: 'again' }
  | { kind: 'work'; step: IPipelineExecutionStep; execution: IPipelineExecution };

/**
 * Walks pipeline runs, one step at a time, from the job queue. Every decision is taken in a
 * transaction holding the run's row lock, from what the rows say; slow work (asking for a
 * deployment, a smoke command, a webhook) happens outside it, under a claim on the step and a
 * liveness lock, so a process that dies mid-step is noticed and the step tried again. A run
 * waits without any process holding it: at a confirmation, or while its stage deploys, it is
 * only rows; the next job (a decision, a deployment's end, the sweep) takes it on.
 */
export class PipelineRunner {
  constructor(
    private readonly deps: {
      orm: Orm;
      queue: PipelineQueue;
      deployments: DeploymentService;
      runner: DeploymentRunner;
      plans: DeploymentPlanBuilder;
      secrets: SecretBox;
      liveness: RunLiveness;
      instanceId: string;
      logger: Logger;
      /** The one way out for webhook-trigger steps (an outbound guard may wrap it). */
      fetch: OutboundFetch;
      webhookTimeoutMs: number;
      notifications?: NotificationEmitter;
      onProgress?: (executionId: string) => void;
    },
  ) {}

  /** The job handler: takes the run as far as it can go now. */
  async advance(executionId: string): Promise<void> {
    for (let hops = 0; hops < 100; hops++) {
      const next = await this.decide(executionId);
      this.deps.onProgress?.(executionId);
      if (next.kind === 'wait') return;
      if (next.kind === 'work') await this.work(next.execution, next.step);
    }
  }

  /**
   * Inside the transaction that ends a deployment (the executor's): if a pipeline step waits
   * for it, the run is looked at again, by a job that exists only if the end commits.
   */
  async deploymentEnded(tx: EntityManager, deploymentId: string): Promise<void> {
    const rows = await tx
      .getConnection()
      .execute<{ execution_id: string }[]>(
        'select execution_id from pipeline_execution_steps where deployment_id = ?',
        [deploymentId],
        'all',
        tx.getTransactionContext(),
      );
    for (const row of rows) await this.deps.queue.enqueue(row.execution_id, tx);
  }

  /**
   * The safety net, every few seconds: runs that need looking at but have no job coming — a
   * stage deployment that ended by rejection, expiry or cancel, a worker that died mid-step, a job
   * lost — get one. Runs waiting at a confirmation are left alone.
   */
  async sweep(): Promise<string[]> {
    const em = this.deps.orm.em.fork();
    return em.transactional(async (tx) => {
      const rows = await tx.getConnection().execute<{ id: string }[]>(
        `select e.id from pipeline_executions e
          where e.status in ('new', 'pending', 'running') and e.updated_at < now() - interval '2 seconds'
            and (e.status = 'new'
              or exists (select 1 from pipeline_execution_steps s join deployments d on d.id = s.deployment_id
                          where s.execution_id = e.id and s.status in ('running', 'pending')
                            and (d.status in ('finished', 'failed', 'cancelled', 'rejected', 'expired')
                                 or (s.status = 'pending' and d.status in ('queued', 'running'))))
              or exists (select 1 from pipeline_execution_steps s
                          where s.execution_id = e.id and s.status = 'running' and s.deployment_id is null
                            and s.started_at < now() - interval '${CLAIM_GRACE_SECONDS} seconds'
                            and ${RUNNER_IS_GONE_SQL.replace('id::text', 's.id::text')})
              or not exists (select 1 from pipeline_execution_steps s
                              where s.execution_id = e.id and s.status in ('running', 'pending')))
          limit 100`,
        [],
        'all',
        tx.getTransactionContext(),
      );
      for (const row of rows) await this.deps.queue.enqueue(row.id, tx);
      return rows.map((row) => row.id);
    });
  }

  /** One decision, under the run's row lock. */
  private async decide(executionId: string): Promise<Next> {
    const em = this.deps.orm.em.fork();
    return em.transactional(async (tx) => {
      const execution = await tx.findOne(
        PipelineExecution,
        { id: executionId },
        { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['project', 'pipeline'] },
      );
      if (!execution || execution.status === 'ok' || execution.status === 'failed') return { kind: 'wait' };
      const now = new Date();
      if (execution.status === 'new') {
        await tx.nativeUpdate(
          PipelineExecution,
          { id: execution.id },
          { status: 'running', startedAt: now, updatedAt: now },
        );
        await emitPipelineNotification(this.deps.notifications, tx, 'pipeline.started', execution.id);
        return { kind: 'again' };
      }
      const steps = await tx.find(
        PipelineExecutionStep,
        { execution },
        { populate: ['deployment'], orderBy: { phase: 'asc', position: 'asc' } },
      );
      const step = steps.find((s) => s.status !== 'ok' && s.status !== 'skipped');
      if (!step) {
        await tx.nativeUpdate(
          PipelineExecution,
          { id: execution.id },
          { status: 'ok', finishedAt: now, updatedAt: now },
        );
        await emitPipelineNotification(this.deps.notifications, tx, 'pipeline.finished', execution.id);
        return { kind: 'wait' };
      }
      const setStep = (
        values: Partial<
          Pick<
            IPipelineExecutionStep,
            'status' | 'detail' | 'finishedAt' | 'startedAt' | 'attempts' | 'runnerId'
          >
        >,
      ) => tx.nativeUpdate(PipelineExecutionStep, { id: step.id }, values);
      const setRun = (status: 'running' | 'pending') =>
        execution.status === status
          ? Promise.resolve(0)
          : tx.nativeUpdate(PipelineExecution, { id: execution.id }, { status, updatedAt: now });
      const fail = async (detail: string) => {
        await setStep({ status: 'failed', detail, finishedAt: now });
        await failExecution(tx, execution.id, `${stepLabel(step)}: ${detail}`);
        await emitPipelineNotification(this.deps.notifications, tx, 'pipeline.failed', execution.id);
        return { kind: 'wait' } as const;
      };
      const claim = async () => {
        await setStep({
          status: 'running',
          runnerId: this.deps.instanceId,
          attempts: step.attempts + 1,
          startedAt: now,
        });
        await setRun('running');
        return { kind: 'work', step, execution } as const;
      };

      if (step.status === 'failed') return fail(step.detail ?? 'failed');

      if (step.kind === 'confirmation') {
        if (step.status !== 'new') return { kind: 'wait' };
        await setStep({ status: 'pending', startedAt: now });
        await setRun('pending');
        await emitPipelineNotification(this.deps.notifications, tx, 'pipeline.waiting', execution.id);
        return { kind: 'wait' };
      }

      if (step.status === 'new') return claim();

      if (step.kind === 'deploy' && step.deployment) {
        const deployment = step.deployment;
        if (deployment.status === 'finished') {
          await setStep({
            status: 'ok',
            detail: `Deployment #${deployment.number} finished.`,
            finishedAt: now,
          });
          return { kind: 'again' };
        }
        if (ENDED.has(deployment.status)) {
          return fail(
            `deployment #${deployment.number} ${deployment.status.replace('_', ' ')}${deployment.failureReason ? `: ${deployment.failureReason}` : '.'}`,
          );
        }
        const waiting = deployment.status === 'awaiting_approval';
        if (step.status !== (waiting ? 'pending' : 'running'))
          await setStep({ status: waiting ? 'pending' : 'running' });
        await setRun(waiting ? 'pending' : 'running');
        return { kind: 'wait' };
      }

      // Running with no result: a worker holds it, or held it and died (its liveness lock is free).
      const [gone] = await tx.getConnection().execute<{ gone: boolean }[]>(
        // A claim younger than the grace may not hold its liveness lock yet: it is alive.
        `select (started_at < now() - interval '${CLAIM_GRACE_SECONDS} seconds' and ${RUNNER_IS_GONE_SQL}) as gone
             from pipeline_execution_steps where id = ?`,
        [step.id],
        'all',
        tx.getTransactionContext(),
      );
      if (!gone?.gone) return { kind: 'wait' };
      if (step.attempts >= MAX_ATTEMPTS) {
        return fail(`the Slipway process running it stopped ${step.attempts} times.`);
      }
      this.deps.logger.warn(
        { executionId, step: step.id },
        'pipeline step of a stopped process: trying it again',
      );
      await setStep({ status: 'new', runnerId: null });
      return { kind: 'again' };
    });
  }

  /** The slow part of a step, outside the row lock, under the step's liveness lock. */
  private async work(execution: IPipelineExecution, step: IPipelineExecutionStep): Promise<void> {
    const { liveness, logger } = this.deps;
    await liveness.hold(step.id);
    try {
      const outcome = await this.perform(execution, step).catch((error: unknown) => {
        if (!isSlipwayError(error)) logger.error({ err: error, step: step.id }, 'pipeline step crashed');
        return {
          ok: false,
          detail: isSlipwayError(error)
            ? error.message
            : `Slipway could not run it: ${(error as Error).message}`,
        };
      });
      if (outcome === null) return; // a deploy: its deployment's end moves the run on
      await this.deps.orm.em.fork().transactional(async (tx) => {
        const now = new Date();
        const moved = await tx.nativeUpdate(
          PipelineExecutionStep,
          { id: step.id, status: 'running', runnerId: this.deps.instanceId },
          { status: outcome.ok ? 'ok' : 'failed', detail: outcome.detail, finishedAt: now },
        );
        if (!moved) return;
        if (!outcome.ok) {
          await failExecution(tx, execution.id, `${stepLabel(step)}: ${outcome.detail}`);
          await emitPipelineNotification(this.deps.notifications, tx, 'pipeline.failed', execution.id);
        } else {
          await tx.nativeUpdate(PipelineExecution, { id: execution.id }, { updatedAt: now });
        }
      });
    } finally {
      await liveness.release(step.id);
    }
  }

  /** Does the step; null for a deploy (it is under way), else whether it passed and what it said. */
  private async perform(
    execution: IPipelineExecution,
    step: IPipelineExecutionStep,
  ): Promise<{ ok: boolean; detail: string } | null> {
    const em = this.deps.orm.em.fork();
    const environment = step.environment
      ? await em.findOne(Environment, { id: step.environment.id }, { populate: ['servers', 'project'] })
      : null;
    if (!environment)
      return { ok: false, detail: `the environment ${step.environmentName} no longer exists.` };
    switch (step.kind) {
      case 'deploy':
        await this.requestDeployment(em, execution, step);
        return null;
      case 'run-smoke':
        return this.smoke(execution, step, environment);
      case 'webhook-trigger':
        return this.webhook(em, execution, step, environment);
      default:
        return { ok: false, detail: `a ${step.kind} step cannot be run.` };
    }
  }

  /**
   * The stage's deployment: the first stage deploys the run's commit, later stages promote it
   * from the stage before (refused if something else went live there meanwhile). The step is
   * linked to it in the transaction that records it; a refusal (lock, busy, freeze) fails the step.
   */
  private async requestDeployment(
    em: EntityManager,
    execution: IPipelineExecution,
    step: IPipelineExecutionStep,
  ): Promise<void> {
    const actor: Actor = {
      memberId: execution.requestedBy?.id ?? null,
      name: execution.requestedByName,
      source: 'pipeline',
    };
    const within = async (tx: EntityManager, deployment: IDeployment) => {
      const waiting = deployment.status === 'awaiting_approval';
      await tx.nativeUpdate(
        PipelineExecutionStep,
        { id: step.id },
        { deployment: deployment.id, status: waiting ? 'pending' : 'running' },
      );
      await tx.nativeUpdate(
        PipelineExecution,
        { id: execution.id },
        { status: waiting ? 'pending' : 'running', updatedAt: new Date() },
      );
    };
    const forced = execution.forced
      ? { force: true, ...(execution.forceReason ? { reason: execution.forceReason } : {}) }
      : {};
    const previous =
      step.phase > 0
        ? await em.findOne(PipelineExecutionStep, {
            execution: execution.id,
            phase: step.phase - 1,
            kind: 'deploy',
          })
        : null;
    try {
      if (previous) {
        await this.deps.deployments.requestPromote(actor, {
          project: execution.project.name,
          from: previous.environmentName,
          to: step.environmentName,
          expectedCommit: execution.commitHash,
          within,
          ...forced,
        });
      } else {
        await this.deps.deployments.requestDeploy(actor, {
          project: execution.project.name,
          environment: step.environmentName,
          ref: execution.commitHash,
          ...(execution.confirmed ? { confirm: true } : {}),
          ...(execution.commitMessage && execution.commitAuthor
            ? { commit: { message: execution.commitMessage, author: execution.commitAuthor } }
            : {}),
          within,
          ...forced,
        });
      }
    } catch (error) {
      if (!isSlipwayError(error)) throw error;
      await this.deps.orm.em.fork().transactional(async (tx) => {
        const moved = await tx.nativeUpdate(
          PipelineExecutionStep,
          { id: step.id, status: 'running', deployment: null },
          { status: 'failed', detail: error.message, finishedAt: new Date() },
        );
        if (!moved) return;
        await failExecution(tx, execution.id, `${stepLabel(step)}: ${error.message}`);
        await emitPipelineNotification(this.deps.notifications, tx, 'pipeline.failed', execution.id);
      });
    }
  }

  /** The command in the live release of every server of the stage; any non-zero exit fails it. */
  private async smoke(
    execution: IPipelineExecution,
    step: IPipelineExecutionStep,
    environment: IEnvironment,
  ): Promise<{ ok: boolean; detail: string }> {
    const { plans, runner, secrets } = this.deps;
    const project = execution.project;
    const envFile = project.environmentFile
      ? secrets.open(project.environmentFile, SECRET_PURPOSE.projectEnvironmentFile)
      : null;
    const servers = plans.serversOf(environment);
    const results = await runner.runCommand(servers.map(planServer), plans.connectionFor(project), {
      command: step.config.command ?? 'false',
      env: {
        SLIPWAY_PROJECT: project.name,
        SLIPWAY_ENVIRONMENT: environment.name,
        SLIPWAY_COMMIT: execution.commitHash,
        SLIPWAY_PIPELINE: execution.pipeline.name,
        SLIPWAY_RUN: String(execution.runNumber),
      },
      secrets: envFile ? envFileSecretValues(envFile) : [],
    });
    const failed = results.filter((r) => r.exitCode !== 0);
    const summary = results
      .map(
        (r) => `${r.serverName}: ${r.exitCode === null ? (r.error ?? 'did not run') : `exit ${r.exitCode}`}`,
      )
      .join(', ');
    if (!failed.length) return { ok: true, detail: `${summary}.` };
    const tail = failed[0]!.outputTail.trim().split('\n').slice(-20).join('\n');
    return { ok: false, detail: `${summary}.${tail ? `\n${tail}` : ''}` };
  }

  private async webhook(
    em: EntityManager,
    execution: IPipelineExecution,
    step: IPipelineExecutionStep,
    environment: { name: string },
  ): Promise<{ ok: boolean; detail: string }> {
    const pipeline = await em.findOneOrFail(Pipeline, { id: execution.pipeline.id });
    const secret = this.deps.secrets.open(pipeline.signingSecret, SECRET_PURPOSE.pipelineSigningSecret);
    return triggerWebhook(this.deps.fetch, {
      url: step.config.url ?? '',
      secret,
      deliveryId: step.id,
      timeoutMs: this.deps.webhookTimeoutMs,
      body: {
        type: 'pipeline.webhook-trigger',
        delivery_id: step.id,
        project: execution.project.name,
        pipeline: pipeline.name,
        execution: {
          id: execution.id,
          run_nr: execution.runNumber,
          ref: execution.ref,
          commit: execution.commitHash,
        },
        phase: { name: step.environmentName, environment: environment.name, position: step.phase },
        requested_by: execution.requestedByName,
        sent_at: new Date().toISOString(),
      },
    });
  }
}

function stepLabel(step: IPipelineExecutionStep): string {
  return `${step.kind} at ${step.environmentName}`;
}
