import { describe, expect, it } from 'vitest';
import {
  activeFreeze,
  checkFreezeWindow,
  type FreezeWindowSpec,
  nextFreeze,
} from '../../src/core/deployments/freeze-windows.js';

const weekend: FreezeWindowSpec = checkFreezeWindow({
  cronStart: '0 18 * * 5',
  cronEnd: '0 8 * * 1',
  timezone: 'Europe/Paris',
  reason: 'weekend',
});

describe('freeze windows', () => {
  it('a recurring window is in force from its cron start to the next cron end, in its time zone', () => {
    // Friday 2026-12-04 18:00 in Paris is 17:00 UTC; Monday 2026-12-07 08:00 Paris is 07:00 UTC.
    expect(activeFreeze([weekend], new Date('2026-12-04T16:59:00Z'))).toBeNull();
    expect(activeFreeze([weekend], new Date('2026-12-04T17:00:00Z'))).toEqual({
      until: new Date('2026-12-07T07:00:00Z'),
      reason: 'weekend',
    });
    expect(activeFreeze([weekend], new Date('2026-12-06T12:00:00Z'))?.until).toEqual(
      new Date('2026-12-07T07:00:00Z'),
    );
    expect(activeFreeze([weekend], new Date('2026-12-07T07:00:00Z'))).toBeNull();
    expect(nextFreeze([weekend], new Date('2026-12-08T00:00:00Z'))?.at).toEqual(
      new Date('2026-12-11T17:00:00Z'),
    );
  });

  it('a window with a duration, and one-off ranges; overlapping windows make one freeze', () => {
    const nightly = checkFreezeWindow({ cronStart: '0 23 * * *', durationMinutes: 120, timezone: 'UTC' });
    expect(activeFreeze([nightly], new Date('2026-12-02T00:30:00Z'))?.until).toEqual(
      new Date('2026-12-02T01:00:00Z'),
    );
    const holidays = checkFreezeWindow({
      startsAt: new Date('2026-12-24T00:00:00Z'),
      endsAt: new Date('2026-12-28T00:00:00Z'),
      reason: 'holidays',
    });
    // The holidays run into the weekend of the 25th–28th… and it into nothing more.
    const frozen = activeFreeze([holidays, weekend], new Date('2026-12-24T10:00:00Z'));
    expect(frozen).toEqual({ until: new Date('2026-12-28T07:00:00Z'), reason: 'holidays' });
    expect(activeFreeze([holidays], new Date('2026-12-28T00:00:00Z'))).toBeNull();
  });

  it('refuses windows that make no sense, naming the field', () => {
    const field = (input: Parameters<typeof checkFreezeWindow>[0]) => {
      try {
        checkFreezeWindow(input);
        return null;
      } catch (error) {
        return (error as { details?: { field?: string } }).details?.field;
      }
    };
    expect(field({ cronStart: 'fridays', durationMinutes: 10 })).toBe('freeze_start');
    expect(field({ cronStart: '0 18 * * 5' })).toBe('freeze_end');
    expect(field({ cronStart: '0 18 * * 5', cronEnd: '0 8 * * 1', durationMinutes: 5 })).toBe('freeze_end');
    expect(field({ cronStart: '0 18 * * 5', durationMinutes: 0 })).toBe('duration_minutes');
    expect(field({ cronStart: '0 18 * * 5', durationMinutes: 5, timezone: 'Nowhere/City' })).toBe(
      'cron_timezone',
    );
    expect(field({ startsAt: new Date('2026-12-02'), endsAt: new Date('2026-12-01') })).toBe('ends_at');
    expect(field({})).toBe('starts_at');
  });
});
