import { Deployment, type IDeployment } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { ConvergenceReport, DeploymentRunner, ServerInspection } from '../../engine/index.js';
import type { Logger } from '../../logger.js';
import { emitDeploymentNotification, type NotificationEmitter } from '../notifications/index.js';
import { type DeploymentPlanBuilder, planServer } from './deployment-plan-builder.js';
import { agreedRelease, recordLiveRelease } from './live-state.js';
import type { RunLiveness } from './run-liveness.js';

/**
 * A run is judged dead when its liveness lock is free and its row (runner_seen_at, refreshed
 * every second by a live runner) has not changed for this long, as seen by this reaper. Counting
 * from what this reaper saw, not from the row's timestamp, keeps a database outage from making
 * every run look dead the moment the database is back.
 */
const STALE_AFTER_MS = 2000;

interface Sighting {
  seenAt: string | null;
  since: number;
}

/**
 * Finds deployments whose process died and makes servers and record match: it takes the run's
 * liveness lock (so no other reaper works on it, and a reaper that dies mid-way leaves it to the
 * next), cleans the servers — the half-built release removed, or, when activation had begun,
 * every server brought to one release — and only then marks it `failed` (`interrupted`) with
 * what each server runs, which frees the environment's run slot. Never a run this process is
 * executing. Also re-sends the job of a queued deployment whose job was lost.
 */
export class DeploymentReaper {
  private readonly sightings = new Map<string, Sighting>();
  private busy = false;

  constructor(
    private readonly deps: {
      orm: Orm;
      runner: DeploymentRunner;
      plans: DeploymentPlanBuilder;
      liveness: RunLiveness;
      logger: Logger;
      /** True while this process executes the deployment. */
      isRunningHere: (deploymentId: string) => boolean;
      /** Sends a fresh job for a queued deployment whose job is gone. */
      requeue: (deploymentId: string) => Promise<void>;
      onEnded?: (deployment: IDeployment) => void;
      notifications?: NotificationEmitter;
    },
  ) {}

  /** One pass; returns the ids of the deployments it settled. */
  async reap(): Promise<string[]> {
    // One pass at a time: locks are per session, so two passes here could both take one run.
    if (this.busy) return [];
    this.busy = true;
    try {
      return await this.pass();
    } finally {
      this.busy = false;
    }
  }

  private async pass(): Promise<string[]> {
    const dead = await this.deadRuns();
    const reaped: string[] = [];
    for (const id of dead) {
      if (!(await this.deps.liveness.tryHold(id))) continue; // alive after all, or another reaper has it
      try {
        if (await this.settle(id)) reaped.push(id);
      } catch (error) {
        this.deps.logger.error(
          { err: error, deploymentId: id },
          'could not settle an interrupted deployment',
        );
      } finally {
        await this.deps.liveness.release(id);
      }
    }
    await this.requeueLost();
    return reaped;
  }

  /** Running deployments of other processes whose row stopped moving, as this reaper saw it. */
  private async deadRuns(): Promise<string[]> {
    const rows = await this.deps.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string; runner_seen_at: string | null }[]>(
        `select id, runner_seen_at::text from deployments where status = 'running'`,
      );
    const now = Date.now();
    const dead: string[] = [];
    const current = new Set<string>();
    for (const row of rows) {
      current.add(row.id);
      if (this.deps.isRunningHere(row.id)) {
        this.sightings.delete(row.id);
        continue;
      }
      const seenAt = row.runner_seen_at;
      const sighting = this.sightings.get(row.id);
      if (!sighting || sighting.seenAt !== seenAt) {
        this.sightings.set(row.id, { seenAt, since: now });
        continue;
      }
      if (now - sighting.since >= STALE_AFTER_MS) dead.push(row.id);
    }
    for (const id of this.sightings.keys()) if (!current.has(id)) this.sightings.delete(id);
    return dead;
  }

  /** With the run's lock held: clean the servers, then end the record. False when there was nothing to do. */
  private async settle(deploymentId: string): Promise<boolean> {
    const em = this.deps.orm.em.fork();
    const deployment = await em.findOne(
      Deployment,
      { id: deploymentId, status: 'running' },
      { populate: ['project', 'environment', 'environment.servers'] },
    );
    if (!deployment) return false;
    const servers = this.deps.plans.servers(deployment).map(planServer);
    const settings = this.deps.plans.connection(deployment);
    const names = new Map(servers.map((server) => [server.id, server.name]));
    const release = deployment.kind === 'rollback' ? null : (deployment.releaseName ?? null);
    let live: string;
    // What each server runs once recovery is done: the servers are the truth of what is live.
    let inspections: ServerInspection[] = [];
    try {
      if (release && deployment.activationStartedAt) {
        const report = await this.deps.runner.converge(servers, settings, release);
        inspections = report.servers;
        live = describeConvergence(report, names, release);
      } else {
        inspections = release
          ? await this.deps.runner.discardRelease(servers, settings, release)
          : await this.deps.runner.inspect(servers, settings);
        live = describe(inspections, names, release);
      }
    } catch (error) {
      live = `The servers could not be inspected: ${(error as Error).message}.`;
    }
    const reason = `Interrupted: the Slipway process running it stopped. ${live}`;
    const agreed = agreedRelease(inspections);
    const updated = await em.fork().transactional(async (tx) => {
      const count = await tx.nativeUpdate(
        Deployment,
        { id: deploymentId, status: 'running' },
        {
          status: 'failed',
          failureCode: 'interrupted',
          failureReason: reason,
          finishedAt: new Date(),
          runnerId: null,
        },
      );
      if (count) {
        // When every server agrees on a release (after converging), that is what is live now.
        if (agreed) await recordLiveRelease(tx, deployment.environment.id, agreed);
        await emitDeploymentNotification(this.deps.notifications, tx, 'deployment.failed', deploymentId);
      }
      return count;
    });
    if (!updated) return false;
    this.deps.logger.warn({ deploymentId, reason }, 'interrupted deployment reaped');
    em.clear();
    const ended = await em.findOneOrFail(
      Deployment,
      { id: deploymentId },
      { populate: ['project', 'environment'] },
    );
    this.deps.onEnded?.(ended);
    return true;
  }

  /**
   * A queued deployment holds its environment's run slot; if its job is gone (failed for good,
   * lost with a database), nothing would ever run it. Such deployments get a fresh job.
   */
  private async requeueLost(): Promise<void> {
    const rows = await this.deps.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string }[]>(
        `select d.id from deployments d
          where d.status = 'queued' and d.queued_at < now() - interval '10 seconds'
            and not exists (select 1 from pgboss.job j
                             where j.name = 'deployment-run' and j.state in ('created', 'retry', 'active')
                               and j.data->>'deploymentId' = d.id::text)`,
      );
    for (const { id } of rows) {
      await this.deps.requeue(id);
      this.deps.logger.warn({ deploymentId: id }, 'queued deployment had no job any more; sent a new one');
    }
  }
}

function describe(
  inspections: ServerInspection[],
  names: Map<string, string>,
  release: string | null,
): string {
  const parts = inspections.map((inspection) => {
    const name = names.get(inspection.serverId) ?? inspection.serverId;
    if (inspection.error) return `${name}: could not be inspected (${inspection.error})`;
    const live = inspection.currentRelease ?? 'no release';
    return `${name}: ${live}${release && live === release ? ' (the new release)' : ''}`;
  });
  return `Live now: ${parts.join('; ')}.`;
}

function describeConvergence(report: ConvergenceReport, names: Map<string, string>, release: string): string {
  const what: Record<ConvergenceReport['direction'], string> = {
    none: 'Activation had begun but no server was switched yet; the new release was removed.',
    kept: 'Every server had already been switched to the new release; it stays live.',
    back: 'Some servers had been switched: they were switched back, and the new release removed.',
    forward:
      'Some servers had been switched and one of them had no release to go back to: the switch was finished on every server.',
    mixed: 'Not every server could be reached: they may run different releases.',
  };
  return `${what[report.direction]} ${describe(report.servers, names, release)}`;
}
