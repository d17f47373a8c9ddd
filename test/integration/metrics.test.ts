import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSources } from '../../src/app/metric-sources.js';
import type { Orm } from '../../src/db/orm.js';
import { createMetrics } from '../../src/http/metrics.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';

/** What /metrics shows, read from a real database: the gauges people graph and alert on. */
describe('metrics', () => {
  let database: TestDatabase;
  let orm: Orm;

  beforeAll(async () => {
    database = await createTestDatabase();
    orm = await openTestOrm(database);
    const [project] = await database.query<{ id: string }>(
      `insert into projects (id, name, repository, ssh_private_key, ssh_public_key)
       values (gen_random_uuid(), 'shop', 'https://example.invalid/shop.git', 'sealed', 'ssh-ed25519 AAAA') returning id`,
    );
    for (const [name, status] of [
      ['backup', 'missing'],
      ['report', 'missing'],
      ['sync', 'healthy'],
    ]) {
      await database.query(
        `insert into heartbeats (id, project_id, name, token, interval_minutes, grace_minutes, status, next_due_at, created_at, updated_at)
         values (gen_random_uuid(), $1, $2, $3, 10, 5, $4, now(), now(), now())`,
        [project!.id, name, `token-${name}`, status],
      );
    }
  });
  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
  });

  it("shows Node's default metrics under their standard names, and Slipway's own", async () => {
    const metrics = createMetrics();
    metrics.useSources(metricSources(orm));
    metrics.deploymentDuration.observe(
      { project: 'shop', environment: 'production', status: 'finished' },
      3.2,
    );
    metrics.queuePickup.observe(0.012);
    metrics.watchChatAdapters(() => ({ slack: { status: 'up' }, discord: { status: 'down' } }));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).not.toMatch(/slipway_process_|slipway_nodejs_/);
    expect(text).toContain(
      'slipway_deployment_duration_seconds_bucket{le="5",project="shop",environment="production",status="finished"} 1',
    );
    expect(text).toContain('slipway_deployment_queue_pickup_seconds_count 1');
    expect(text).toContain('slipway_heartbeats_missing 2');
    expect(text).toContain('slipway_deployments_queued 0');
    expect(text).toContain('slipway_notification_deliveries_failed 0');
    expect(text).toContain('slipway_notification_deliveries_retrying 0');
    expect(text).toContain('slipway_chat_adapter_up{platform="slack"} 1');
    expect(text).toContain('slipway_chat_adapter_up{platform="discord"} 0');
  });
});
