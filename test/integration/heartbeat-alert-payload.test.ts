import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatPayload } from '../../src/core/heartbeats/heartbeat-service.js';
import { HeartbeatSweep } from '../../src/core/heartbeats/index.js';
import { NotificationOutbox } from '../../src/core/notifications/index.js';
import type { Orm } from '../../src/db/orm.js';
import { NotificationQueue } from '../../src/jobs/notification-queue.js';
import { type JobQueue, startJobQueue, stopJobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';

/**
 * The sweep builds each alert in SQL, in the statement that moves the heartbeat (one round trip
 * for thousands). What it writes must be what heartbeatPayload writes for the same row.
 */
describe('the alert the sweep writes', () => {
  let database: TestDatabase;
  let orm: Orm;
  let boss: JobQueue;
  const silent = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

  beforeAll(async () => {
    database = await createTestDatabase();
    orm = await openTestOrm(database);
    boss = await startJobQueue(database.url, silent);
  });
  afterAll(async () => {
    await stopJobQueue(boss, 2000);
    await orm?.close(true);
    await database?.drop();
  });

  it('is the payload heartbeatPayload builds, for interval and cron heartbeats, with and without grace', async () => {
    const queue = new NotificationQueue(boss);
    await queue.setup();
    const [project] = await database.query<{ id: string }>(
      `insert into projects (id, name, repository, ssh_private_key, ssh_public_key)
       values (gen_random_uuid(), 'payload', 'https://example.invalid/p.git', 'sealed', 'ssh-ed25519 AAAA') returning id`,
    );
    const rows: [string, number | null, string | null, number, string | null][] = [
      ['hourly', 60, null, 5, "now() - interval '2 hours'"],
      ['odd', 45, null, 0, null],
      ['nightly', null, '0 3 * * *', 30, "now() - interval '1 day'"],
      ['weekly', 10080, null, 60, null],
    ];
    for (const [name, minutes, cron, grace, lastCheckIn] of rows) {
      await database.query(
        `insert into heartbeats (id, project_id, name, token, interval_minutes, cron, timezone, grace_minutes, status,
                                 last_check_in_at, next_due_at, created_at, updated_at)
         values (gen_random_uuid(), $1, $2, $3, $4, $5, 'Europe/Paris', $6, 'healthy', ${lastCheckIn ?? 'null'},
                 now() - interval '3 minutes', now(), now())`,
        [project!.id, name, `payload-token-${name}-0000`, minutes, cron, grace],
      );
    }
    const result = await new HeartbeatSweep(orm, new NotificationOutbox(queue), silent).run();
    expect(result.alerted).toBe(4);
    const heartbeats = await database.query<Parameters<typeof heartbeatPayload>[0] & { next_due_at: Date }>(
      `select id, name, interval_minutes, cron, timezone, grace_minutes, last_check_in_at, missing_since, next_due_at
         from heartbeats`,
    );
    const events = await database.query<{ data: { heartbeat: { id: string } } & Record<string, unknown> }>(
      `select data from notification_events where type = 'heartbeat.missing'`,
    );
    expect(events).toHaveLength(4);
    for (const heartbeat of heartbeats) {
      const event = events.find((e) => e.data.heartbeat.id === heartbeat.id);
      expect(event?.data).toEqual({
        heartbeat: heartbeatPayload(heartbeat, heartbeat.next_due_at),
        reason: 'overdue',
        message: null,
        downtimeMs: null,
        heldDuringDeployment: false,
      });
    }
  });
});
