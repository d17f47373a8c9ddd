import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { HEARTBEAT_STATUSES } from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { Project } from './project.js';

export const Heartbeat = defineEntity({
  name: 'Heartbeat',
  tableName: 'heartbeats',
  uniques: [{ properties: ['project', 'name'] }],
  // No index on what a check-in writes (next_due_at, last_check_in_at, updated_at): check-ins are
  // HOT updates that touch no index (the table's fillfactor leaves room for them), and the sweep
  // reads the table (migration 20261201151500).
  indexes: [
    // Held alerts are few; the sweep that releases them reads only those.
    { name: 'heartbeats_held', properties: ['alertHeldSince'], where: 'alert_held_since is not null' },
  ],
  checks: [
    {
      name: 'heartbeats_one_schedule',
      expression: '(interval_minutes is null) <> (cron is null)',
    },
  ],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    name: p.string().length(255),
    /** At least 128 random bits, URL-safe; the ping URL is /heartbeats/<token>. */
    token: p.string().length(64).unique(),
    /** Envoyer's intervals (10, 30, 60, 1440, 10080, 44640 minutes) … */
    intervalMinutes: p.integer().nullable(),
    /** … or a cron expression in a time zone. */
    cron: p.string().length(120).nullable(),
    timezone: p.string().length(64).default('UTC'),
    graceMinutes: p.integer().default(0).check('grace_minutes >= 0 and grace_minutes <= 44640'),
    status: p.enum(HEARTBEAT_STATUSES).default('new'),
    lastCheckInAt: p.datetime().nullable(),
    /** When it went missing (overdue or reported failed); cleared by the next check-in. */
    missingSince: p.datetime().nullable(),
    nextDueAt: p.datetime().nullable(),
    /** Set while a missing-alert waits for a running deployment of the project to end. */
    alertHeldSince: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type IHeartbeat = InferEntity<typeof Heartbeat>;
