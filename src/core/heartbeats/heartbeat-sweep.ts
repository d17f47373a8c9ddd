import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.js';
import type { Logger } from '../../logger.js';
import type { NewNotification, NotificationEmitter } from '../notifications/index.js';
import { heartbeatPayload } from './heartbeat-service.js';

/** Heartbeats moved per statement: a backlog after downtime goes out in bounded transactions. */
const BATCH = 1000;

export interface SweepResult {
  /** Moved to missing, alert written to the outbox. */
  alerted: number;
  /** Moved to missing during a running deployment of their project: alert held. */
  held: number;
  /** Held alerts sent now that the deployment ended and the heartbeat is still missing. */
  released: number;
}

interface MovedRow {
  id: string;
  name: string;
  project_id: string;
  project: string;
  interval_minutes: number | null;
  cron: string | null;
  timezone: string;
  grace_minutes: number;
  last_check_in_at: Date | null;
  missing_since: Date | null;
  next_due_at: Date | null;
  held: boolean;
}

const RETURNING = `h.id, h.name, h.project_id, p.name as project, h.interval_minutes, h.cron, h.timezone,
  h.grace_minutes, h.last_check_in_at, h.missing_since, h.next_due_at`;

/**
 * Moves overdue heartbeats to `missing` and writes their alerts. The move is one atomic
 * `UPDATE … WHERE next_due_at < now() AND status <> 'missing' … RETURNING`: a row moved by one
 * sweep no longer matches for any other, so with several replicas or overlapping sweeps each
 * alert is written exactly once, in the same transaction as the move. Its cost follows the number
 * due (the partial index `heartbeats_due`), not the number of heartbeats.
 *
 * While a deployment of the project is running the alert is held (`alert_held_since`): a deploy
 * often delays cron jobs. A later sweep sends it if the heartbeat is still missing once no
 * deployment of the project is running and the last one ended at least the grace period ago.
 */
export class HeartbeatSweep {
  constructor(
    private readonly orm: Orm,
    private readonly notifications: NotificationEmitter,
    private readonly logger: Logger,
  ) {}

  async run(): Promise<SweepResult> {
    const result: SweepResult = { alerted: 0, held: 0, released: 0 };
    for (;;) {
      const moved = await this.moveDue();
      result.alerted += moved.alerted;
      result.held += moved.held;
      if (moved.alerted + moved.held < BATCH) break;
    }
    result.released = await this.releaseHeld();
    if (result.alerted || result.held || result.released) {
      this.logger.info({ ...result }, 'heartbeat sweep');
    }
    return result;
  }

  private async moveDue(): Promise<{ alerted: number; held: number }> {
    const em = this.orm.em.fork();
    return em.transactional(async (tx) => {
      const rows = await execute<MovedRow>(
        tx,
        `update heartbeats h
            set status = 'missing', missing_since = now(), updated_at = now(),
                alert_held_since = case when exists (
                  select 1 from deployments d where d.project_id = h.project_id and d.status = 'running'
                ) then now() end
           from projects p
          where h.id = any(array(select id from heartbeats
                                  where next_due_at < now() and status <> 'missing'
                                  order by next_due_at limit ${BATCH}
                                    for update skip locked))
            and h.next_due_at < now() and h.status <> 'missing' and p.id = h.project_id
          returning ${RETURNING}, h.alert_held_since is not null as held`,
        // The ids are picked once (array(…), an init plan): however few rows the statistics
        // expect to be due, the planner cannot re-run the pick for every row it updates.
      );
      const alerts = rows.filter((row) => !row.held).map((row) => missingNotification(row, false));
      await this.notifications.emit(tx, alerts);
      return { alerted: alerts.length, held: rows.length - alerts.length };
    });
  }

  private async releaseHeld(): Promise<number> {
    const em = this.orm.em.fork();
    return em.transactional(async (tx) => {
      const rows = await execute<MovedRow>(
        tx,
        `update heartbeats h
            set alert_held_since = null, updated_at = now()
           from projects p
          where h.alert_held_since is not null and h.status = 'missing' and p.id = h.project_id
            and not exists (
              select 1 from deployments d
               where d.project_id = h.project_id
                 and (d.status = 'running' or d.finished_at > now() - make_interval(mins => h.grace_minutes)))
          returning ${RETURNING}, false as held`,
      );
      await this.notifications.emit(
        tx,
        rows.map((row) => missingNotification(row, true)),
      );
      return rows.length;
    });
  }
}

function missingNotification(row: MovedRow, heldDuringDeployment: boolean): NewNotification {
  return {
    type: 'heartbeat.missing',
    projectId: row.project_id,
    project: row.project,
    subject: null,
    data: {
      heartbeat: heartbeatPayload(row, row.next_due_at),
      reason: 'overdue',
      message: null,
      downtimeMs: null,
      heldDuringDeployment,
    },
  };
}

async function execute<T>(tx: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return tx.getConnection().execute<T[]>(sql, params, 'all', tx.getTransactionContext());
}
