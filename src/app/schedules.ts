import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Services } from './services.js';

/** Every timer of a running Slipway, in one place. */
export const SCHEDULES = {
  /**
   * Deployments whose runner died are looked for this often; one is settled once its lock is
   * free and its row has not moved for 2 s (DeploymentReaper), so a dead runner is noticed
   * within about 3 s and its slot freed as soon as its servers are cleaned.
   */
  reaperMs: 1_000,
  /** Approval requests past their time to live are closed and their cards updated. */
  approvalExpiryMs: 30_000,
  /** Environments past their auto_stop_at are stopped. */
  autoStopMs: 60_000,
  /** Deliveries of dead processes, lost jobs and old outbox rows are looked after. */
  notificationRecoveryMs: 15_000,
  /** Inbound requests past their replay window are forgotten. */
  inboundPruneMs: 60_000,
  /** Projects' GitHub reporting channels follow their repositories (also right after a change). */
  reportingSyncMs: 60_000,
  /** Pipeline runs with no job coming (a stage rejected or expired, a worker gone) get one. */
  pipelineSweepMs: 5_000,
  /** Overdue heartbeats are looked for: every SLIPWAY_HEARTBEAT_SWEEP_SECONDS (node-cron). */
  heartbeatSweep: (seconds: number) => (seconds === 60 ? '0 * * * * *' : `*/${seconds} * * * * *`),
} as const;

/**
 * Starts every schedule; returns what stops them all. Each tick logs its failure and waits for
 * the next: a database blip must not stop a sweep for good.
 */
export function startSchedules(options: {
  config: Config;
  logger: Logger;
  services: Services;
  /** Deployments whose approval expired: their messages are brought up to date. */
  onExpired: (deploymentIds: readonly string[]) => void;
}): () => Promise<void> {
  const { services, config } = options;
  const logger = options.logger;
  const every = (ms: number, what: string, tick: () => Promise<unknown>) => {
    const timer = setInterval(() => {
      tick().catch((error: unknown) => logger.error({ err: error }, `${what} failed`));
    }, ms);
    timer.unref();
    return () => clearInterval(timer);
  };
  const stops = [
    every(SCHEDULES.reaperMs, 'reaper', () => services.reaper.reap()),
    every(SCHEDULES.approvalExpiryMs, 'approval expiry sweep', async () =>
      options.onExpired(await services.approvals.expireDue()),
    ),
    every(SCHEDULES.autoStopMs, 'auto-stop sweep', async () => {
      const stopped = await services.environments.stopDue();
      if (stopped.length) {
        logger
          .child({ component: 'auto-stop' })
          .info({ stopped }, 'environments stopped at their auto_stop_at');
      }
    }),
    every(SCHEDULES.notificationRecoveryMs, 'notification recovery', () => services.deliveries.recover()),
    every(SCHEDULES.inboundPruneMs, 'inbound request pruning', () => services.inbound.prune()),
    every(SCHEDULES.reportingSyncMs, 'GitHub reporting channel sync', () => services.reporting.sync()),
    every(SCHEDULES.pipelineSweepMs, 'pipeline sweep', () => services.pipelineRunner.sweep()),
  ];
  const sweep: ScheduledTask = cron.schedule(
    SCHEDULES.heartbeatSweep(config.SLIPWAY_HEARTBEAT_SWEEP_SECONDS),
    async () => {
      await services.heartbeatSweep
        .run()
        .catch((error: unknown) => logger.error({ err: error }, 'heartbeat sweep failed'));
    },
    { name: 'heartbeat-sweep', noOverlap: true },
  );
  return async () => {
    await sweep.destroy();
    for (const stop of stops) stop();
  };
}
