import { describe, expect, it } from 'vitest';
import {
  defaultGraceMinutes,
  describeSchedule,
  nextDueAt,
  validateCron,
} from '../../src/core/heartbeats/index.js';

describe('heartbeat schedules', () => {
  const from = new Date('2026-03-28T23:10:00Z');

  it('an interval heartbeat is due interval + grace after its check-in', () => {
    expect(nextDueAt({ kind: 'interval', minutes: 10, graceMinutes: 2 }, from).toISOString()).toBe(
      '2026-03-28T23:22:00.000Z',
    );
    expect(nextDueAt({ kind: 'interval', minutes: 44640, graceMinutes: 0 }, from).toISOString()).toBe(
      '2026-04-28T23:10:00.000Z',
    );
  });

  it('a cron heartbeat is due at the next fire time in its zone, plus grace, across DST', () => {
    // Paris moves to summer time on 2026-03-29 at 02:00: 03:00 local is 01:00 UTC that day.
    const spec = {
      kind: 'cron',
      expression: '0 3 * * *',
      timezone: 'Europe/Paris',
      graceMinutes: 30,
    } as const;
    expect(nextDueAt(spec, from).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(nextDueAt(spec, new Date('2026-03-29T01:00:05Z')).toISOString()).toBe('2026-03-30T01:30:00.000Z');
    expect(
      nextDueAt(
        { kind: 'cron', expression: '@hourly', timezone: 'UTC', graceMinutes: 0 },
        from,
      ).toISOString(),
    ).toBe('2026-03-29T00:00:00.000Z');
    expect(
      nextDueAt(
        { kind: 'cron', expression: '@midnight', timezone: 'UTC', graceMinutes: 0 },
        from,
      ).toISOString(),
    ).toBe('2026-03-29T00:00:00.000Z');
  });

  it('defaults the grace to a tenth of the period, between 1 and 60 minutes', () => {
    expect(defaultGraceMinutes({ kind: 'interval', minutes: 10 })).toBe(1);
    expect(defaultGraceMinutes({ kind: 'interval', minutes: 60 })).toBe(6);
    expect(defaultGraceMinutes({ kind: 'interval', minutes: 1440 })).toBe(60);
    expect(defaultGraceMinutes({ kind: 'cron', expression: '*/5 * * * *', timezone: 'UTC' })).toBe(1);
    expect(defaultGraceMinutes({ kind: 'cron', expression: '0 */4 * * *', timezone: 'UTC' })).toBe(24);
  });

  it('refuses what a crontab would not run, saying why', () => {
    expect(() => validateCron('0 3 * * *', 'UTC')).not.toThrow();
    expect(() => validateCron('0 0 3 * * *', 'UTC')).toThrow(/give the 5 fields/);
    expect(() => validateCron('0 25 * * *', 'UTC')).toThrow(/not a valid cron expression/);
    expect(() => validateCron('0 0 30 2 *', 'UTC')).toThrow(/not a valid cron expression/);
    expect(() => validateCron('@reboot', 'UTC')).toThrow(/not a crontab shorthand/);
    expect(() => validateCron('0 3 * * *', 'Nowhere/Land')).toThrow(/not a time zone/);
  });

  it('describes itself for people', () => {
    expect(describeSchedule({ kind: 'interval', minutes: 1440, graceMinutes: 60 })).toBe(
      'every day, 60 min grace',
    );
    expect(
      describeSchedule({ kind: 'cron', expression: '0 3 * * 1', timezone: 'UTC', graceMinutes: 0 }),
    ).toBe('cron "0 3 * * 1" (UTC)');
  });
});
