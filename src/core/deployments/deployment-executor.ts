import type { EntityManager } from '@mikro-orm/postgresql';
import { isConnectionError } from '../../db/connection-errors.js';
import { Deployment, DeploymentStep, type IDeployment } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import {
  actionStep,
  type DeploymentResult,
  type DeploymentRunner,
  type PlanServer,
  planSteps,
  type RollbackResult,
  type RunFailure,
  toStepInfo,
} from '../../engine/index.js';
import type { Logger } from '../../logger.js';
import type { OutboundFetch } from '../../net/outbound-guard.js';
import { emitDeploymentNotification, type NotificationEmitter } from '../notifications/index.js';
import { type DeploymentPlanBuilder, planServer, releaseNameFor } from './deployment-plan-builder.js';
import { checkHealth } from './health-check.js';
import { recordLiveRelease } from './live-state.js';
import type { RunLiveness } from './run-liveness.js';
import { StepRecorder } from './step-recorder.js';

const WATCH_INTERVAL_MS = 1000;
/** How long the end of a run keeps trying to reach a database that is away (a blip, a restart). */
const FINISH_RETRY_FOR_MS = 10 * 60_000;
const FINISH_RETRY_MAX_DELAY_MS = 2000;

type Outcome = {
  status: 'finished' | 'failed' | 'cancelled';
  code: string | null;
  reason: string | null;
  /** The release `current` points at now, when this run changed it (recorded as the environment's live state). */
  live?: string;
  /** The release that was live before this run. */
  previous?: string | null;
};

/**
 * Runs one deployment in this process: claims it (queued → running, at most once, whichever
 * replica got the job), drives the engine, records every step, health-checks, and writes the
 * end state. While it runs it holds a liveness lock (so a crash is noticed at once) and watches
 * its row for a cancel request.
 */
export class DeploymentExecutor {
  private readonly running = new Map<string, AbortController>();
  private shuttingDown = false;

  constructor(
    private readonly deps: {
      orm: Orm;
      runner: DeploymentRunner;
      plans: DeploymentPlanBuilder;
      liveness: RunLiveness;
      instanceId: string;
      logger: Logger;
      /** Sends a fresh job for a deployment handed back at shutdown. */
      requeue: (deploymentId: string) => Promise<void>;
      /** The deployment was claimed here and starts to run. */
      onStarted?: (deployment: IDeployment) => void;
      onEnded?: (deployment: IDeployment) => void;
      /** A step started or ended, or the run began: progress listeners re-read the rows. */
      onProgress?: (deploymentId: string) => void;
      /** Channels hear of the start and the end, written in the same transaction as the change. */
      notifications?: NotificationEmitter;
      /** The health check's fetch: the outbound guard's (the URL is a user's). */
      outbound: OutboundFetch;
      /** Inside the transaction that ends a deployment (a pipeline waiting for it is moved on). */
      onFinished?: (tx: EntityManager, deploymentId: string) => Promise<void>;
    },
  ) {}

  get activeCount(): number {
    return this.running.size;
  }

  /** True while this process runs the deployment: the reaper never reaps those. */
  isRunning(deploymentId: string): boolean {
    return this.running.has(deploymentId);
  }

  async execute(deploymentId: string): Promise<void> {
    if (this.shuttingDown) throw new Error('shutting down: the job goes back to the queue');
    const { orm, liveness, instanceId } = this.deps;
    const log = this.deps.logger.child({ deploymentId });
    await liveness.hold(deploymentId);
    // Known as ours before it is claimed, so this process's reaper never takes it for dead.
    const controller = new AbortController();
    this.running.set(deploymentId, controller);
    try {
      const em = orm.em.fork();
      const startedAt = new Date();
      const claimed = await orm.em.fork().transactional(async (tx) => {
        const count = await tx.nativeUpdate(
          Deployment,
          { id: deploymentId, status: 'queued' },
          { status: 'running', startedAt, runnerId: instanceId, runnerSeenAt: startedAt },
        );
        if (count) {
          // Rows of an earlier attempt (handed back at a shutdown) make way for this run's.
          await tx.nativeDelete(DeploymentStep, { deployment: deploymentId });
          await emitDeploymentNotification(this.deps.notifications, tx, 'deployment.started', deploymentId);
        }
        return count;
      });
      if (claimed === 0) {
        log.debug('deployment no longer queued; nothing to run');
        return;
      }
      const deployment = await em.findOneOrFail(
        Deployment,
        { id: deploymentId },
        { populate: ['project', 'environment', 'environment.servers'] },
      );
      this.deps.onStarted?.(deployment);
      this.deps.onProgress?.(deploymentId);
      const watch = setInterval(() => void this.watch(deploymentId, controller), WATCH_INTERVAL_MS);
      const recorder = new StepRecorder(
        orm,
        deploymentId,
        this.serversOf(deployment),
        log,
        this.progress(deploymentId),
      );
      recorder.beforeActivation = () => this.recordActivationStart(deploymentId);
      let outcome: Outcome;
      try {
        outcome = await this.run(em, deployment, startedAt, controller.signal, recorder);
      } catch (error) {
        log.error({ err: error }, 'deployment crashed');
        outcome = {
          status: 'failed',
          code: 'internal',
          reason: `Slipway could not run it: ${(error as Error).message}`,
        };
      } finally {
        clearInterval(watch);
      }
      await this.finish(em, deployment, outcome, recorder);
    } finally {
      this.running.delete(deploymentId);
      await liveness.release(deploymentId);
    }
  }

  private untilWritten<T>(deploymentId: string, write: () => Promise<T>): Promise<T> {
    return retrying(write, (error) =>
      this.deps.logger.warn(
        { err: error, deploymentId },
        'could not write the end of a deployment yet; trying again',
      ),
    );
  }

  /** Asks every running deployment to stop before activation; used at shutdown. */
  stopAll(): void {
    this.shuttingDown = true;
    for (const controller of this.running.values()) controller.abort('shutdown');
  }

  /** The servers a run works on, for naming step rows; none when the environment has none (run fails). */
  private serversOf(deployment: IDeployment): PlanServer[] {
    try {
      return this.deps.plans.servers(deployment).map(planServer);
    } catch {
      return [];
    }
  }

  private async run(
    em: EntityManager,
    deployment: IDeployment,
    startedAt: Date,
    signal: AbortSignal,
    recorder: StepRecorder,
  ): Promise<Outcome> {
    const { runner, plans } = this.deps;
    if (deployment.kind === 'rollback') {
      const servers = plans.servers(deployment).map(planServer);
      const steps = [actionStep('connect'), actionStep('rollback')].map(toStepInfo);
      recorder.plan(new Map(servers.map((server) => [server.id, steps])));
      const result = await runner.rollback(
        { ...plans.connection(deployment), deploymentId: deployment.id, servers },
        recorder,
        deployment.targetRelease,
      );
      const previous = result.servers[0]?.previousRelease ?? null;
      if (result.status === 'finished') {
        const target = result.servers[0]?.currentRelease ?? null;
        await em.nativeUpdate(
          Deployment,
          { id: deployment.id },
          { releaseName: target, targetRelease: target },
        );
        if (target) return { ...fromResult(result), live: target, previous };
      }
      return { ...fromResult(result), previous };
    }

    // The release name is on the row before any server is touched (crash recovery removes it by
    // name); it is written while the plan's hooks and folders are read.
    const releaseName = deployment.releaseName ?? releaseNameFor(deployment, startedAt);
    const [plan] = await Promise.all([
      plans.deploymentPlan(em, deployment, startedAt),
      this.deps.orm.em.fork().nativeUpdate(Deployment, { id: deployment.id }, { releaseName }),
    ]);
    recorder.plan(planSteps(plan));
    const result = await runner.deploy(plan, recorder, signal);
    const previous = result.servers[0]?.previousRelease ?? null;
    // Activated on every server: the new release is live, whatever comes after (purge, health).
    const live = result.activated ? { live: plan.releaseName, previous } : { previous };
    // The environment's own health-check URL; the project's is the default.
    const healthUrl = deployment.environment.healthCheckUrl ?? deployment.project.healthCheckUrl;
    if (result.status !== 'finished' || !healthUrl) return { ...fromResult(result), ...live };

    const health = await checkHealth(healthUrl, { fetch: this.deps.outbound });
    if (health.healthy) return { ...fromResult(result), ...live };
    if (!deployment.project.rollbackOnHealthFailure) {
      return {
        status: 'failed',
        code: 'health_check_failed',
        reason: `Health check failed: ${health.detail}.`,
        ...live,
      };
    }
    const rollback = await runner.rollback(
      { ...plans.connection(deployment), deploymentId: deployment.id, servers: plan.servers },
      recorder,
      previous,
    );
    return {
      status: 'failed',
      code: 'health_check_failed',
      ...(rollback.status === 'finished' && previous ? { live: previous, previous } : live),
      reason:
        rollback.status === 'finished'
          ? `Health check failed: ${health.detail}. Rolled back to ${previous ?? 'the previous release'}.`
          : `Health check failed: ${health.detail}. The automatic rollback failed too: ${rollback.failure?.message ?? 'unknown'}.`,
    };
  }

  /** Written before any server is switched: recovery after a crash reads it (see the reaper). */
  private async recordActivationStart(deploymentId: string): Promise<void> {
    await this.deps.orm.em
      .fork()
      .nativeUpdate(Deployment, { id: deploymentId, status: 'running' }, { activationStartedAt: new Date() });
  }

  private progress(deploymentId: string): (() => void) | undefined {
    const onProgress = this.deps.onProgress;
    return onProgress ? () => onProgress(deploymentId) : undefined;
  }

  /** Keeps the row's runner_seen_at fresh and turns a cancel request into an abort. */
  private async watch(deploymentId: string, controller: AbortController): Promise<void> {
    try {
      const rows = await this.deps.orm.em
        .fork()
        .getConnection()
        .execute<{ cancel_requested_at: Date | null }[]>(
          'update deployments set runner_seen_at = now() where id = ? returning cancel_requested_at',
          [deploymentId],
        );
      if (rows[0]?.cancel_requested_at && !controller.signal.aborted) controller.abort('cancel');
    } catch (error) {
      this.deps.logger.warn({ err: error, deploymentId }, 'could not refresh a running deployment');
    }
  }

  private async finish(
    em: EntityManager,
    deployment: IDeployment,
    outcome: Outcome,
    recorder: StepRecorder,
  ): Promise<void> {
    const handedBack = outcome.status === 'cancelled' && this.shuttingDown && !deployment.cancelRequestedAt;
    const values = handedBack
      ? // Stopped by our own shutdown before activation: it goes back to the queue as it was.
        { status: 'queued' as const, startedAt: null, runnerId: null, runnerSeenAt: null, releaseName: null }
      : {
          status: outcome.status,
          finishedAt: new Date(),
          failureCode: outcome.code,
          failureReason: outcome.reason,
          ...(outcome.previous !== undefined ? { previousRelease: outcome.previous } : {}),
        };
    const updated = await this.untilWritten(deployment.id, () =>
      this.deps.orm.em.fork().transactional(async (tx) => {
        // The last step changes go with the end state: never a finished deployment with rows behind.
        await recorder.settle(tx);
        const count = await tx.nativeUpdate(
          Deployment,
          { id: deployment.id, status: 'running', runnerId: this.deps.instanceId },
          values,
        );
        // What `current` points at now is written with the deployment's end.
        if (count && !handedBack && outcome.live) {
          await recordLiveRelease(tx, deployment.environment.id, outcome.live);
        }
        if (count && !handedBack) {
          await emitDeploymentNotification(
            this.deps.notifications,
            tx,
            `deployment.${outcome.status}`,
            deployment.id,
          );
          await this.deps.onFinished?.(tx, deployment.id);
        }
        return count;
      }),
    );
    if (updated === 0) {
      this.deps.logger.warn(
        { deploymentId: deployment.id },
        'deployment was taken over (reaped) while it ran',
      );
      return;
    }
    if (handedBack) {
      // A fresh job rather than a failed one: no retry delay, and no retry budget spent.
      await this.deps.requeue(deployment.id);
      this.deps.logger.info(
        { deploymentId: deployment.id },
        'deployment handed back to the queue at shutdown',
      );
      return;
    }
    em.clear();
    const ended = await em.findOneOrFail(
      Deployment,
      { id: deployment.id },
      { populate: ['project', 'environment'] },
    );
    this.deps.logger.info(
      {
        deploymentId: deployment.id,
        status: ended.status,
        reason: ended.failureReason,
        stepWrites: recorder.statements,
      },
      'deployment ended',
    );
    this.deps.onEnded?.(ended);
  }
}

/**
 * The end of a run is written even if the database is away for a while: the servers did what
 * they did, and the record must say so (a run left `running` would be reaped as interrupted).
 */
async function retrying<T>(write: () => Promise<T>, onRetry: (error: unknown) => void): Promise<T> {
  const deadline = Date.now() + FINISH_RETRY_FOR_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, FINISH_RETRY_MAX_DELAY_MS)) {
    try {
      return await write();
    } catch (error) {
      if (!isConnectionError(error) || Date.now() + delay > deadline) throw error;
      onRetry(error);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function fromResult(result: DeploymentResult | RollbackResult): Outcome {
  if (result.status === 'finished') return { status: 'finished', code: null, reason: null };
  if (result.status === 'cancelled')
    return {
      status: 'cancelled',
      code: 'cancelled',
      reason: 'Cancelled before activation; no server was switched.',
    };
  return {
    status: 'failed',
    code: result.failure?.errorCode ?? 'command_failed',
    reason: describeFailure(result.failure),
  };
}

function describeFailure(failure: RunFailure | null): string {
  if (!failure) return 'The deployment failed.';
  return failure.message;
}
