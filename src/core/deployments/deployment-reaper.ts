import { Deployment, type IDeployment } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import type { DeploymentRunner, ServerInspection } from '../../engine/index.js';
import type { Logger } from '../../logger.js';
import { emitDeploymentNotification, type NotificationEmitter } from '../notifications/index.js';
import { type DeploymentPlanBuilder, planServer } from './deployment-plan-builder.js';
import { agreedRelease, recordLiveRelease } from './live-state.js';
import { RUNNER_IS_GONE_SQL } from './run-liveness.js';

/**
 * Finds deployments whose process died (its liveness lock is free) and makes their record
 * match reality: `failed` with code `interrupted`, the run slot freed, the half-built release
 * removed from servers it never went live on, and the release each server actually runs
 * written into the reason. Runs at start and periodically, so another replica notifications too.
 */
export class DeploymentReaper {
  constructor(
    private readonly deps: {
      orm: Orm;
      runner: DeploymentRunner;
      plans: DeploymentPlanBuilder;
      logger: Logger;
      onEnded?: (deployment: IDeployment) => void;
      notifications?: NotificationEmitter;
    },
  ) {}

  async reap(): Promise<string[]> {
    const em = this.deps.orm.em.fork();
    const rows = await em.transactional(async (tx) => {
      const reaped = await tx.getConnection().execute<{ id: string }[]>(
        `update deployments
            set status = 'failed', failure_code = 'interrupted', finished_at = now(), runner_id = null,
                failure_reason = 'Interrupted: the Slipway process running it stopped.'
          where status = 'running' and ${RUNNER_IS_GONE_SQL}
          returning id`,
        [],
        'all',
        tx.getTransactionContext(),
      );
      for (const { id } of reaped)
        await emitDeploymentNotification(this.deps.notifications, tx, 'deployment.failed', id);
      return reaped;
    });
    for (const { id } of rows) {
      await this.reconcile(id).catch((error: unknown) =>
        this.deps.logger.error(
          { err: error, deploymentId: id },
          'could not inspect the servers of an interrupted deployment',
        ),
      );
    }
    return rows.map((row) => row.id);
  }

  private async reconcile(deploymentId: string): Promise<void> {
    const em = this.deps.orm.em.fork();
    const deployment = await em.findOneOrFail(
      Deployment,
      { id: deploymentId },
      { populate: ['project', 'environment', 'environment.servers'] },
    );
    const servers = this.deps.plans.servers(deployment).map(planServer);
    const settings = this.deps.plans.connection(deployment);
    const release = deployment.kind === 'rollback' ? null : (deployment.releaseName ?? null);
    const inspections = release
      ? await this.deps.runner.discardRelease(servers, settings, release)
      : await this.deps.runner.inspect(servers, settings);
    const names = new Map(servers.map((server) => [server.id, server.name]));
    deployment.failureReason = `Interrupted: the Slipway process running it stopped. ${describe(inspections, names, release)}`;
    await em.flush();
    // The servers are the truth: if they agree on a release, that is what is live now.
    const live = agreedRelease(inspections);
    if (live) await recordLiveRelease(em, deployment.environment.id, live);
    this.deps.logger.warn(
      { deploymentId, reason: deployment.failureReason },
      'interrupted deployment reaped',
    );
    this.deps.onEnded?.(deployment);
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
