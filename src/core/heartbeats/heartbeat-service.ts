import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import { Heartbeat, type IHeartbeat } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import { type HeartbeatStatus, isUuid } from '../../vocabulary.js';
import { type Actor, recordAudit } from '../access/index.js';
import { findProject } from '../lookup.js';
import type { NotificationEmitter } from '../notifications/index.js';
import { HeartbeatCheckIns } from './heartbeat-check-ins.js';
import {
  defaultGraceMinutes,
  describeSchedule,
  HEARTBEAT_INTERVALS,
  type HeartbeatScheduleSpec,
  nextDueAt,
  validateCron,
  validateTimezone,
} from './heartbeat-schedule.js';

/** 192 random bits, base64url: what a ping URL ends with. */
const TOKEN_BYTES = 24;
/** Anything else cannot be a token: answered 404 without touching the database. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,64}$/;
/** What a failure report may carry into the alert (a job's last lines of output). */
const FAILURE_MESSAGE_MAX = 4000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:()/-]{0,99}$/;

/**
 * Creating a heartbeat: a name, then either an interval from Envoyer's set or a cron expression
 * with a time zone, and a grace period (default: a tenth of the period, 1 to 60 minutes).
 */
export const heartbeatInputSchema = z
  .object({
    name: z
      .string({ error: 'name is required' })
      .trim()
      .regex(
        NAME,
        'name must be 1 to 100 letters, digits, spaces or . _ : ( ) / -, starting with a letter or digit',
      ),
    interval: z
      .literal(HEARTBEAT_INTERVALS, {
        error: `interval must be one of ${HEARTBEAT_INTERVALS.join(', ')} (minutes)`,
      })
      .optional(),
    cron: z.string().trim().min(1, 'cron must not be empty').max(120, 'cron is too long').optional(),
    timezone: z.string().trim().min(1).max(64).optional(),
    graceMinutes: z
      .number({ error: 'graceMinutes must be a number of minutes' })
      .int('graceMinutes must be a whole number of minutes')
      .min(0, 'graceMinutes must be at least 0')
      .max(44640, 'graceMinutes must be at most 44640 (a month)')
      .optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if ((input.interval === undefined) === (input.cron === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: input.interval === undefined ? ['interval'] : ['cron'],
        message: 'give either interval (10, 30, 60, 1440, 10080 or 44640 minutes) or cron, not both',
      });
      return;
    }
    if (input.interval !== undefined && input.timezone !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: 'timezone only applies to a cron schedule',
      });
    }
    try {
      if (input.cron !== undefined) validateCron(input.cron, input.timezone ?? 'UTC');
      else if (input.timezone !== undefined) validateTimezone(input.timezone);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: [input.cron !== undefined ? 'cron' : 'timezone'],
        message: (error as Error).message,
      });
    }
  });

export type HeartbeatInput = z.input<typeof heartbeatInputSchema>;

export interface HeartbeatView {
  id: string;
  projectId: string;
  project: string;
  name: string;
  /** The token is the ping URL's secret part; Envoyer shows it, and so do we (never in logs). */
  token: string;
  pingUrl: string;
  failUrl: string;
  /** Minutes, for an interval heartbeat; null for a cron one. */
  interval: number | null;
  cron: string | null;
  timezone: string;
  graceMinutes: number;
  /** For people: "every 10 minutes, 1 min grace", `cron "0 3 * * *" (Europe/Paris)`. */
  schedule: string;
  status: HeartbeatStatus;
  lastCheckInAt: Date | null;
  /** The deadline: expected time plus grace. Past it, the heartbeat goes missing. */
  nextDueAt: Date | null;
  missingSince: Date | null;
  /** Missing during a deployment of the project: the alert waits for the deployment to end. */
  alertHeld: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type CheckInOutcome =
  | { found: false }
  | { found: true; heartbeatId: string; status: HeartbeatStatus; notified: boolean };

interface ScheduleRow {
  id: string;
  interval_minutes: number | null;
  cron: string | null;
  timezone: string;
  grace_minutes: number;
}

/**
 * Heartbeats: cron jobs that check in at `/heartbeats/<token>` (DESIGN.md §4 "Heartbeats").
 * Management (list, get, create, remove) is called by chat and the REST API, which check roles;
 * check-ins are called by the ping routes and stay cheap: an interval heartbeat that was not
 * missing shares one UPDATE with the other check-ins of the moment (HeartbeatCheckIns), and
 * notification work is only an outbox row, in the same transaction, when the status changes.
 */
export class HeartbeatService {
  private readonly checkIns: HeartbeatCheckIns;

  constructor(
    private readonly orm: Orm,
    private readonly notifications: NotificationEmitter,
    private readonly options: { publicUrl: string },
  ) {
    this.checkIns = new HeartbeatCheckIns(orm);
  }

  async list(projectName: string): Promise<HeartbeatView[]> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const rows = await em.find(Heartbeat, { project }, { orderBy: { name: 'asc' }, populate: ['project'] });
    return rows.map((row) => this.view(row));
  }

  async get(projectName: string, idOrName: string): Promise<HeartbeatView> {
    const em = this.orm.em.fork();
    return this.view(await this.find(em, projectName, idOrName));
  }

  async create(actor: Actor, projectName: string, input: HeartbeatInput): Promise<HeartbeatView> {
    const parsed = heartbeatInputSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SlipwayError('invalid_input', `${issue?.message ?? 'invalid heartbeat'}.`, {
        fields: Object.fromEntries(
          parsed.error.issues.map((i) => [i.path.join('.') || 'heartbeat', i.message]),
        ),
      });
    }
    const value = parsed.data;
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const base =
      value.cron !== undefined
        ? ({ kind: 'cron', expression: value.cron, timezone: value.timezone ?? 'UTC' } as const)
        : ({ kind: 'interval', minutes: value.interval ?? 60 } as const);
    const graceMinutes = value.graceMinutes ?? defaultGraceMinutes(base);
    const schedule: HeartbeatScheduleSpec = { ...base, graceMinutes };
    return withConstraintErrors(
      () =>
        em.transactional(async (tx) => {
          // The clock starts now: a job that never checks in is exactly what must be caught.
          const heartbeat = tx.create(Heartbeat, {
            project,
            name: value.name,
            token: randomBytes(TOKEN_BYTES).toString('base64url'),
            intervalMinutes: schedule.kind === 'interval' ? schedule.minutes : null,
            cron: schedule.kind === 'cron' ? schedule.expression : null,
            timezone: schedule.kind === 'cron' ? schedule.timezone : 'UTC',
            graceMinutes,
            status: 'new',
            nextDueAt: nextDueAt(schedule, new Date()),
          });
          recordAudit(tx, actor, {
            action: 'heartbeat.create',
            result: 'ok',
            projectId: project.id,
            targetType: 'heartbeat',
            targetId: heartbeat.id,
            details: { name: value.name, schedule: describeSchedule(schedule) },
          });
          await tx.flush();
          return this.view(heartbeat);
        }),
      {
        heartbeats_project_id_name_unique: `Project ${project.name} already has a heartbeat named "${value.name}".`,
      },
    );
  }

  async remove(actor: Actor, projectName: string, idOrName: string): Promise<HeartbeatView> {
    const em = this.orm.em.fork();
    const heartbeat = await this.find(em, projectName, idOrName);
    const view = this.view(heartbeat);
    em.remove(heartbeat);
    recordAudit(em, actor, {
      action: 'heartbeat.delete',
      result: 'ok',
      projectId: heartbeat.project.id,
      targetType: 'heartbeat',
      targetId: heartbeat.id,
      details: { name: heartbeat.name },
    });
    await em.flush();
    return view;
  }

  /** A successful check-in: healthy, next due recomputed; after an alert, a recovery notification. */
  async checkIn(token: string): Promise<CheckInOutcome> {
    if (!TOKEN_SHAPE.test(token)) return { found: false };
    // The common case: an interval heartbeat that was not missing, one statement shared by a burst.
    const fast = await this.checkIns.record(token);
    if (fast) return { found: true, heartbeatId: fast, status: 'healthy', notified: false };

    const em = this.orm.em.fork();
    const row = await this.scheduleOf(em, token);
    if (!row) return { found: false };
    const due = nextDueAt(scheduleSpec(row), new Date());
    return em.transactional(async (tx) => {
      const [changed] = await tx.getConnection().execute<ChangedRow[]>(
        `update heartbeats h
            set status = 'healthy', last_check_in_at = now(), next_due_at = ?, missing_since = null,
                alert_held_since = null, updated_at = now()
           from (select id, status, missing_since, alert_held_since, next_due_at
                   from heartbeats where id = ? for update) old, projects p
          where h.id = old.id and p.id = h.project_id
          returning h.id, h.name, h.project_id, p.name as project, h.interval_minutes, h.cron, h.timezone,
                    h.grace_minutes, h.last_check_in_at, old.status as previous, old.missing_since,
                    old.alert_held_since, old.next_due_at as previous_due`,
        [due, row.id],
        'all',
        tx.getTransactionContext(),
      );
      if (!changed) return { found: false } as const;
      // A recovery is news only to those who heard of the outage: not after a held alert.
      const notified = changed.previous === 'missing' && !changed.alert_held_since;
      if (notified) {
        const missingSince = changed.missing_since ? new Date(changed.missing_since) : null;
        await this.notifications.emit(tx, {
          type: 'heartbeat.recovered',
          projectId: changed.project_id,
          project: changed.project,
          subject: null,
          data: {
            heartbeat: heartbeatPayload(changed, changed.previous_due),
            reason: null,
            message: null,
            downtimeMs: missingSince ? Date.now() - missingSince.getTime() : null,
            heldDuringDeployment: false,
          },
        });
      }
      return { found: true, heartbeatId: changed.id, status: 'healthy', notified } as const;
    });
  }

  /**
   * The job reports failure (`/heartbeats/<token>/fail`): missing at once, alert now — also during
   * a deployment, since the job itself said it failed. Already alerted: nothing new is sent.
   */
  async fail(token: string, message?: string | null): Promise<CheckInOutcome> {
    if (!TOKEN_SHAPE.test(token)) return { found: false };
    const em = this.orm.em.fork();
    const row = await this.scheduleOf(em, token);
    if (!row) return { found: false };
    const due = nextDueAt(scheduleSpec(row), new Date());
    const text = message?.trim() ? message.trim().slice(0, FAILURE_MESSAGE_MAX) : null;
    return em.transactional(async (tx) => {
      const [changed] = await tx.getConnection().execute<ChangedRow[]>(
        `update heartbeats h
            set status = 'missing', missing_since = coalesce(old.missing_since, now()), next_due_at = ?,
                alert_held_since = null, updated_at = now()
           from (select id, status, missing_since, alert_held_since, next_due_at
                   from heartbeats where id = ? for update) old, projects p
          where h.id = old.id and p.id = h.project_id
          returning h.id, h.name, h.project_id, p.name as project, h.interval_minutes, h.cron, h.timezone,
                    h.grace_minutes, h.last_check_in_at, h.missing_since, old.status as previous,
                    old.alert_held_since, old.next_due_at as previous_due`,
        [due, row.id],
        'all',
        tx.getTransactionContext(),
      );
      if (!changed) return { found: false } as const;
      const alreadyAlerted = changed.previous === 'missing' && !changed.alert_held_since;
      if (!alreadyAlerted) {
        await this.notifications.emit(tx, {
          type: 'heartbeat.missing',
          projectId: changed.project_id,
          project: changed.project,
          subject: null,
          data: {
            heartbeat: heartbeatPayload(changed, changed.previous_due),
            reason: 'failed',
            message: text,
            downtimeMs: null,
            heldDuringDeployment: false,
          },
        });
      }
      return { found: true, heartbeatId: changed.id, status: 'missing', notified: !alreadyAlerted } as const;
    });
  }

  private async scheduleOf(em: EntityManager, token: string): Promise<ScheduleRow | undefined> {
    const rows = await em
      .getConnection()
      .execute<ScheduleRow[]>(
        'select id, interval_minutes, cron, timezone, grace_minutes from heartbeats where token = ?',
        [token],
      );
    return rows[0];
  }

  private async find(em: EntityManager, projectName: string, idOrName: string): Promise<IHeartbeat> {
    const project = await findProject(em, projectName);
    const byId = isUuid(idOrName);
    const heartbeat = await em.findOne(
      Heartbeat,
      byId ? { project, $or: [{ id: idOrName }, { name: idOrName }] } : { project, name: idOrName },
      { populate: ['project'] },
    );
    if (heartbeat) return heartbeat;
    const names = (await em.find(Heartbeat, { project }, { fields: ['name'], orderBy: { name: 'asc' } })).map(
      (h) => h.name,
    );
    throw new SlipwayError(
      'not_found',
      names.length
        ? `Project ${project.name} has no heartbeat "${idOrName}". Heartbeats: ${names.join(', ')}.`
        : `Project ${project.name} has no heartbeats yet.`,
    );
  }

  private view(heartbeat: IHeartbeat): HeartbeatView {
    const pingUrl = `${this.options.publicUrl}/heartbeats/${heartbeat.token}`;
    return {
      id: heartbeat.id,
      projectId: heartbeat.project.id,
      project: heartbeat.project.name,
      name: heartbeat.name,
      token: heartbeat.token,
      pingUrl,
      failUrl: `${pingUrl}/fail`,
      interval: heartbeat.intervalMinutes ?? null,
      cron: heartbeat.cron ?? null,
      timezone: heartbeat.timezone,
      graceMinutes: heartbeat.graceMinutes,
      schedule: describeSchedule(
        scheduleSpec({
          id: heartbeat.id,
          interval_minutes: heartbeat.intervalMinutes ?? null,
          cron: heartbeat.cron ?? null,
          timezone: heartbeat.timezone,
          grace_minutes: heartbeat.graceMinutes,
        }),
      ),
      status: heartbeat.status,
      lastCheckInAt: heartbeat.lastCheckInAt ?? null,
      nextDueAt: heartbeat.nextDueAt ?? null,
      missingSince: heartbeat.missingSince ?? null,
      alertHeld: !!heartbeat.alertHeldSince,
      createdAt: heartbeat.createdAt,
      updatedAt: heartbeat.updatedAt,
    };
  }
}

interface ChangedRow extends Omit<ScheduleRow, 'id'> {
  id: string;
  name: string;
  project_id: string;
  project: string;
  last_check_in_at: Date | null;
  previous: HeartbeatStatus;
  missing_since: Date | null;
  alert_held_since: Date | null;
  previous_due: Date | null;
}

export function scheduleSpec(row: ScheduleRow): HeartbeatScheduleSpec {
  return row.cron
    ? { kind: 'cron', expression: row.cron, timezone: row.timezone, graceMinutes: row.grace_minutes }
    : { kind: 'interval', minutes: row.interval_minutes ?? 60, graceMinutes: row.grace_minutes };
}

/** The heartbeat part of a notification, from a row of the heartbeats table. */
export function heartbeatPayload(
  row: ScheduleRow & { name: string; last_check_in_at: Date | null; missing_since: Date | null },
  dueAt: Date | null,
) {
  return {
    id: row.id,
    name: row.name,
    schedule: describeSchedule(scheduleSpec(row)),
    lastCheckInAt: iso(row.last_check_in_at),
    dueAt: iso(dueAt),
    missingSince: iso(row.missing_since),
  };
}

function iso(value: Date | string | null): string | null {
  return value ? new Date(value).toISOString() : null;
}
