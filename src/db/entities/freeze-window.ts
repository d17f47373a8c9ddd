import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Environment } from './environment.js';

/**
 * A deploy freeze on an environment (GitLab's deploy freezes): either recurring — a cron start in
 * a time zone, ending at the next fire of a cron end or after a duration — or a one-off date
 * range. While one is in force, deploys and promotes are refused unless an admin forces them.
 */
export const FreezeWindow = defineEntity({
  name: 'FreezeWindow',
  tableName: 'freeze_windows',
  indexes: [{ properties: ['environment'] }],
  checks: [
    { name: 'freeze_windows_one_kind', expression: '(cron_start is null) <> (starts_at is null)' },
    {
      name: 'freeze_windows_one_end',
      expression: 'cron_start is null or ((cron_end is null) <> (duration_minutes is null))',
    },
    {
      name: 'freeze_windows_range',
      expression: 'starts_at is null or (ends_at is not null and ends_at > starts_at)',
    },
  ],
  properties: {
    id: uuidPrimaryKey(),
    environment: () => p.manyToOne(Environment).deleteRule('cascade'),
    cronStart: p.string().length(120).nullable(),
    cronEnd: p.string().length(120).nullable(),
    durationMinutes: p.integer().nullable(),
    timezone: p.string().length(64).default('UTC'),
    startsAt: p.datetime().nullable(),
    endsAt: p.datetime().nullable(),
    reason: p.text().nullable(),
    createdByName: p.string().length(255),
    createdAt: createdAt(),
  },
});
export type IFreezeWindow = InferEntity<typeof FreezeWindow>;
