import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.js';
import type { Logger } from '../../logger.js';
import type { NewNotification, NotificationEmitter } from '../notifications/index.js';
import { INTERVAL_LABEL } from './heartbeat-schedule.js';
import { heartbeatPayload } from './heartbeat-service.js';

/** Heartbeats moved per statement: a backlog after downtime goes out in bounded transactions. */
const BATCH = 10_000;

/** A timestamp as JavaScript's toISOString writes it. */
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** describeSchedule() in SQL, built from the same labels, so the alert reads the same either way. */
const SCHEDULE_SQL = `(case when m.cron is not null then 'cron "' || m.cron || '" (' || m.timezone || ')'
  ${Object.entries(INTERVAL_LABEL)
    .map(
      ([minutes, label]) =>
        `when m.interval_minutes = ${Number(minutes)} then '${label.replace(/'/g, "''")}'`,
    )
    .join('\n  ')}
  else 'every ' || coalesce(m.interval_minutes, 60) || ' minutes' end
  || case when m.grace_minutes > 0 then ', ' || m.grace_minutes || ' min grace' else '' end)`;

/**
 * The whole move in one statement: pick the due heartbeats (skipping rows another sweep holds),
 * mark them missing, and insert the alert of each one not held by a running deployment — the
 * payload built in SQL, as heartbeatPayload builds it — so 10,000 alerts cost one round trip.
 */
const MOVE_SQL = `with picked as (
    select id from heartbeats
     where next_due_at < now() and status <> 'missing'
     order by next_due_at limit ${BATCH}
       for update skip locked
  ), moved as (
    update heartbeats h
       set status = 'missing', missing_since = now(), updated_at = now(),
           alert_held_since = case when exists (
             select 1 from deployments d where d.project_id = h.project_id and d.status = 'running'
           ) then now() end
      from picked
     where h.id = picked.id and h.next_due_at < now() and h.status <> 'missing'
    returning h.id, h.name, h.project_id, h.interval_minutes, h.cron, h.timezone, h.grace_minutes,
              h.last_check_in_at, h.missing_since, h.next_due_at, h.alert_held_since is not null as held
  ), alerts as (
    insert into notification_events (id, type, project_id, subject, data, created_at)
    select gen_random_uuid(), 'heartbeat.missing', m.project_id, null,
           jsonb_build_object(
             'heartbeat', jsonb_build_object(
               'id', m.id, 'name', m.name, 'schedule', ${SCHEDULE_SQL},
               'lastCheckInAt', ${iso('m.last_check_in_at')}, 'dueAt', ${iso('m.next_due_at')},
               'missingSince', ${iso('m.missing_since')}),
             'reason', 'overdue', 'message', null, 'downtimeMs', null, 'heldDuringDeployment', false),
           now()
      from moved m where not m.held
    returning id
  )
  select (select count(*)::int from moved) as moved,
         (select count(*)::int from moved where held) as held,
         coalesce((select array_agg(id) from alerts), '{}') as alerts`;

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
 * alert is written exactly once, in the same transaction as the move. It reads the whole table
 * (no index on `next_due_at`, so that check-ins are HOT updates): 108–122 ms for a million
 * heartbeats with none due, 418–592 ms with 10,000 due (bench:heartbeats, eleven runs).
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
      const [row] = await execute<{ moved: number; held: number; alerts: string[] | string }>(tx, MOVE_SQL);
      const alerts = parseUuidArray(row?.alerts ?? []);
      await this.notifications.announce(tx, alerts);
      return { alerted: alerts.length, held: row?.held ?? 0 };
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

/** A uuid[] as the driver hands it over: an array, or PostgreSQL's `{a,b}` text. */
function parseUuidArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',') : [];
}

async function execute<T>(tx: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return tx.getConnection().execute<T[]>(sql, params, 'all', tx.getTransactionContext());
}
