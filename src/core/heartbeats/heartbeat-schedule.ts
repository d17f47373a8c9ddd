import { CronExpressionParser } from 'cron-parser';
import { SlipwayError } from '../../errors.js';

/** Envoyer's heartbeat intervals, in minutes: 10 min, 30 min, 1 h, 1 day, 1 week, 1 month. */
export const HEARTBEAT_INTERVALS = [10, 30, 60, 1440, 10080, 44640] as const;
export type HeartbeatInterval = (typeof HEARTBEAT_INTERVALS)[number];

export type HeartbeatScheduleSpec =
  | { kind: 'interval'; minutes: number; graceMinutes: number }
  | { kind: 'cron'; expression: string; timezone: string; graceMinutes: number };

export const INTERVAL_LABEL: Record<number, string> = {
  10: 'every 10 minutes',
  30: 'every 30 minutes',
  60: 'every hour',
  1440: 'every day',
  10080: 'every week',
  44640: 'every month',
};

/** The crontab shorthands a heartbeat may use (cron-parser knows more, crontab does not). */
const SHORTHANDS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * When a heartbeat is next due. An interval heartbeat is due `interval + grace` after its last
 * check-in; a cron heartbeat at the schedule's next fire time after the check-in, in its time
 * zone, plus grace. The stored `next_due_at` is that deadline: the sweep compares it with now().
 */
export function nextDueAt(schedule: HeartbeatScheduleSpec, from: Date): Date {
  const grace = schedule.graceMinutes * 60_000;
  if (schedule.kind === 'interval') return new Date(from.getTime() + schedule.minutes * 60_000 + grace);
  return new Date(nextFire(schedule.expression, schedule.timezone, from).getTime() + grace);
}

/** The expected time the deadline was computed from (deadline minus grace), for people. */
export function expectedAt(nextDue: Date, graceMinutes: number): Date {
  return new Date(nextDue.getTime() - graceMinutes * 60_000);
}

export function describeSchedule(schedule: HeartbeatScheduleSpec): string {
  const base =
    schedule.kind === 'interval'
      ? (INTERVAL_LABEL[schedule.minutes] ?? `every ${schedule.minutes} minutes`)
      : `cron "${schedule.expression}" (${schedule.timezone})`;
  return schedule.graceMinutes ? `${base}, ${schedule.graceMinutes} min grace` : base;
}

/**
 * A grace period when none is given: a tenth of the period, between 1 minute and 1 hour. A job
 * that runs a few seconds late must not page anyone; one that is an hour late on a daily run should.
 */
export function defaultGraceMinutes(schedule: { kind: 'interval'; minutes: number } | CronSchedule): number {
  const period =
    schedule.kind === 'interval'
      ? schedule.minutes
      : cronPeriodMinutes(schedule.expression, schedule.timezone);
  return Math.min(60, Math.max(1, Math.round(period / 10)));
}

interface CronSchedule {
  kind: 'cron';
  expression: string;
  timezone: string;
}

/** Throws SlipwayError('invalid_input') with a message naming what is wrong. */
export function validateCron(expression: string, timezone: string): void {
  validateTimezone(timezone);
  const trimmed = expression.trim();
  if (trimmed.startsWith('@')) {
    if (!SHORTHANDS.has(trimmed.toLowerCase())) {
      throw new SlipwayError(
        'invalid_input',
        `"${trimmed}" is not a crontab shorthand: use @hourly, @daily, @weekly, @monthly or @yearly.`,
      );
    }
  } else if (trimmed.split(/\s+/).length !== 5) {
    throw new SlipwayError(
      'invalid_input',
      `"${trimmed}" is not a crontab schedule: give the 5 fields minute hour day-of-month month day-of-week, e.g. "0 3 * * *".`,
    );
  }
  try {
    nextFire(trimmed, timezone, new Date());
  } catch (error) {
    throw new SlipwayError(
      'invalid_input',
      `"${trimmed}" is not a valid cron expression: ${(error as Error).message}.`,
    );
  }
}

export function validateTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new SlipwayError(
      'invalid_input',
      `"${timezone}" is not a time zone: use an IANA name such as UTC or Europe/Paris.`,
    );
  }
}

function normalise(expression: string): string {
  // cron-parser has no @midnight; crontab treats it as @daily.
  return expression.trim().toLowerCase() === '@midnight' ? '@daily' : expression.trim();
}

function nextFire(expression: string, timezone: string, from: Date): Date {
  return CronExpressionParser.parse(normalise(expression), { currentDate: from, tz: timezone })
    .next()
    .toDate();
}

function cronPeriodMinutes(expression: string, timezone: string): number {
  const parsed = CronExpressionParser.parse(normalise(expression), { currentDate: new Date(), tz: timezone });
  const first = parsed.next().toDate().getTime();
  const second = parsed.next().toDate().getTime();
  return Math.max(1, Math.round((second - first) / 60_000));
}
