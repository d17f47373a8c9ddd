import { CronExpressionParser } from 'cron-parser';
import { SlipwayError } from '../../errors.js';
import { validateCron } from '../heartbeats/index.js';

/** A freeze window as stored: recurring (cron start + cron end or duration, in a time zone) or one-off. */
export interface FreezeWindowSpec {
  cronStart: string | null;
  cronEnd: string | null;
  durationMinutes: number | null;
  timezone: string;
  startsAt: Date | null;
  endsAt: Date | null;
  reason: string | null;
}

export interface ActiveFreeze {
  /** When deploys may go again (windows that overlap or follow each other at once count as one). */
  until: Date;
  reason: string | null;
}

/** A recurring window may last up to 31 days; anything longer is a one-off range. */
export const MAX_FREEZE_MINUTES = 44_640;

/**
 * Checks a window and returns it normalised; throws invalid_input naming the field (`freeze_start`,
 * `freeze_end`, `duration_minutes`, `cron_timezone`, `starts_at`, `ends_at`) as the API calls them.
 */
export function checkFreezeWindow(input: {
  cronStart?: string | null;
  cronEnd?: string | null;
  durationMinutes?: number | null;
  timezone?: string | null;
  startsAt?: Date | null;
  endsAt?: Date | null;
  reason?: string | null;
}): FreezeWindowSpec {
  const reason = input.reason?.trim().slice(0, 500) || null;
  const timezone = input.timezone ?? 'UTC';
  const fail = (field: string, message: string): never => {
    throw new SlipwayError('invalid_input', message, { field });
  };
  if (input.cronStart) {
    if (input.startsAt || input.endsAt) {
      fail(
        'starts_at',
        'A freeze window is recurring (freeze_start) or a date range (starts_at, ends_at), not both.',
      );
    }
    try {
      validateCron(input.cronStart, timezone);
    } catch (error) {
      const message = (error as Error).message;
      fail(message.includes('time zone') ? 'cron_timezone' : 'freeze_start', `freeze_start: ${message}`);
    }
    const hasEnd = !!input.cronEnd;
    const hasDuration = input.durationMinutes !== undefined && input.durationMinutes !== null;
    if (hasEnd === hasDuration) {
      fail(
        'freeze_end',
        'A recurring freeze needs freeze_end (a cron expression) or duration_minutes, one of them.',
      );
    }
    if (hasEnd) {
      try {
        validateCron(input.cronEnd!, timezone);
      } catch (error) {
        fail('freeze_end', `freeze_end: ${(error as Error).message}`);
      }
    } else if (
      !Number.isInteger(input.durationMinutes) ||
      input.durationMinutes! < 1 ||
      input.durationMinutes! > MAX_FREEZE_MINUTES
    ) {
      fail(
        'duration_minutes',
        `duration_minutes must be a whole number from 1 to ${MAX_FREEZE_MINUTES} (31 days).`,
      );
    }
    return {
      cronStart: input.cronStart.trim(),
      cronEnd: hasEnd ? input.cronEnd!.trim() : null,
      durationMinutes: hasEnd ? null : input.durationMinutes!,
      timezone,
      startsAt: null,
      endsAt: null,
      reason,
    };
  }
  if (!input.startsAt || !input.endsAt) {
    return fail(
      input.startsAt ? 'ends_at' : 'starts_at',
      'A freeze window needs freeze_start (a cron expression), or starts_at and ends_at (a date range).',
    );
  }
  if (Number.isNaN(input.startsAt.getTime())) fail('starts_at', 'starts_at must be a date-time.');
  if (Number.isNaN(input.endsAt.getTime())) fail('ends_at', 'ends_at must be a date-time.');
  if (input.endsAt.getTime() <= input.startsAt.getTime())
    fail('ends_at', 'ends_at must come after starts_at.');
  return {
    cronStart: null,
    cronEnd: null,
    durationMinutes: null,
    timezone,
    startsAt: input.startsAt,
    endsAt: input.endsAt,
    reason,
  };
}

/** The end of the occurrence of `window` in force at `at`, or null when none is. */
function endAt(window: FreezeWindowSpec, at: Date): Date | null {
  if (!window.cronStart) {
    const { startsAt, endsAt } = window;
    return startsAt && endsAt && startsAt.getTime() <= at.getTime() && at.getTime() < endsAt.getTime()
      ? endsAt
      : null;
  }
  // The latest start at or before `at` (prev() is strictly before its current date).
  const start = CronExpressionParser.parse(normalise(window.cronStart), {
    currentDate: new Date(at.getTime() + 1000),
    tz: window.timezone,
  })
    .prev()
    .toDate();
  const end = window.durationMinutes
    ? new Date(start.getTime() + window.durationMinutes * 60_000)
    : CronExpressionParser.parse(normalise(window.cronEnd!), { currentDate: start, tz: window.timezone })
        .next()
        .toDate();
  return at.getTime() < end.getTime() ? end : null;
}

/**
 * The freeze in force at `now`, if any: until when, and why. When another window is in force
 * at that moment (overlapping or back to back), the freeze runs on to its end too.
 */
export function activeFreeze(windows: readonly FreezeWindowSpec[], now = new Date()): ActiveFreeze | null {
  let until: Date | null = null;
  let reason: string | null = null;
  let at = now;
  for (let hops = 0; hops < 20; hops++) {
    let latest: { end: Date; window: FreezeWindowSpec } | null = null;
    for (const window of windows) {
      const end = endAt(window, at);
      if (end && (!latest || end.getTime() > latest.end.getTime())) latest = { end, window };
    }
    if (!latest || (until && latest.end.getTime() <= until.getTime())) break;
    if (!until) reason = latest.window.reason;
    until = latest.end;
    at = latest.end;
  }
  return until ? { until, reason } : null;
}

/** When the next freeze starts after `now` (for people planning a deploy), or null. */
export function nextFreeze(
  windows: readonly FreezeWindowSpec[],
  now = new Date(),
): { at: Date; reason: string | null } | null {
  let next: { at: Date; reason: string | null } | null = null;
  for (const window of windows) {
    const at = window.cronStart
      ? CronExpressionParser.parse(normalise(window.cronStart), { currentDate: now, tz: window.timezone })
          .next()
          .toDate()
      : window.startsAt && window.startsAt.getTime() > now.getTime()
        ? window.startsAt
        : null;
    if (at && (!next || at.getTime() < next.at.getTime())) next = { at, reason: window.reason };
  }
  return next;
}

/** How a window reads for people: `cron "0 18 * * 5" to "0 8 * * 1" (Europe/Paris)`, or a date range. */
export function describeFreezeWindow(window: FreezeWindowSpec): string {
  const base = window.cronStart
    ? `cron "${window.cronStart}" ${window.cronEnd ? `to "${window.cronEnd}"` : `for ${window.durationMinutes} min`} (${window.timezone})`
    : `${utc(window.startsAt!)} to ${utc(window.endsAt!)}`;
  return window.reason ? `${base}: ${window.reason}` : base;
}

function utc(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

function normalise(expression: string): string {
  return expression.trim().toLowerCase() === '@midnight' ? '@daily' : expression.trim();
}
