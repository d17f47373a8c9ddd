import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunLiveness } from '../../src/core/deployments/index.js';
import { HeartbeatCheckIns } from '../../src/core/heartbeats/heartbeat-check-ins.js';
import { HeartbeatSweep } from '../../src/core/heartbeats/index.js';
import { NotificationOutbox } from '../../src/core/notifications/index.js';
import type { Orm } from '../../src/db/orm.js';
import { NotificationQueue } from '../../src/jobs/notification-queue.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, holdLock, openTestOrm, type TestDatabase } from '../support/database.js';
import { startWebhookReceiver } from '../support/notification-receivers.js';
import {
  type NotificationStack,
  SETUP_ACTOR,
  startNotificationSlipway,
} from '../support/notification-stack.js';

const SECRET = 'heartbeat-test-secret-0123456789';
const silent = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

describe('heartbeats', () => {
  let database: TestDatabase;
  let stack: NotificationStack;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startWebhookReceiver(SECRET);
    // The real node-cron sweep, every second: the tests watch what it does.
    stack = await startNotificationSlipway(database, {
      SLIPWAY_HEARTBEAT_SWEEP_SECONDS: '1',
      SLIPWAY_PUBLIC_URL: 'https://slipway.example.com',
    });
    await stack.project('crons');
    await stack.channel('crons', {
      type: 'webhook',
      name: 'ops-hook',
      webhookUrl: receiver.hookUrl,
      secret: SECRET,
      events: ['heartbeat.*'],
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await database?.drop();
  });

  const received = (heartbeatId: string, type: string) =>
    receiver.requests.filter((r) => {
      const data = r.body.data as { heartbeat?: { id?: string } } | undefined;
      return r.body.type === type && data?.heartbeat?.id === heartbeatId;
    });
  const events = async (heartbeatId: string, type: string) =>
    (
      await database.query<{ n: number }>(
        `select count(*)::int as n from notification_events where type = $1 and data->'heartbeat'->>'id' = $2`,
        [type, heartbeatId],
      )
    )[0]?.n;
  const row = async (id: string) =>
    (
      await database.query<{
        status: string;
        last_check_in_at: Date | null;
        next_due_at: Date;
        alert_held_since: Date | null;
        missing_since: Date | null;
      }>(
        'select status, last_check_in_at, next_due_at, alert_held_since, missing_since from heartbeats where id = $1',
        [id],
      )
    )[0]!;

  it('creates a heartbeat with an unguessable token and a ping URL, due one period after creation', async () => {
    const before = Date.now();
    const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
      name: 'queue worker',
      interval: 10,
      graceMinutes: 2,
    });
    expect(h.status).toBe('new');
    // ≥ 128 bits: 24 random bytes in base64url.
    expect(h.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(h.pingUrl).toBe(`https://slipway.example.com/heartbeats/${h.token}`);
    expect(h.failUrl).toBe(`${h.pingUrl}/fail`);
    expect(h.schedule).toBe('every 10 minutes, 2 min grace');
    const due = h.nextDueAt!.getTime();
    expect(due).toBeGreaterThanOrEqual(before + 12 * 60_000 - 1000);
    expect(due).toBeLessThanOrEqual(Date.now() + 12 * 60_000 + 1000);
    const audit = await database.query(`select action, details from audit_events where target_id = $1`, [
      h.id,
    ]);
    expect(audit).toEqual([
      { action: 'heartbeat.create', details: { name: 'queue worker', schedule: h.schedule } },
    ]);
    expect(JSON.stringify(audit)).not.toContain(h.token);
  });

  it('refuses bad input with a specific message and creates nothing', async () => {
    const attempts: [unknown, RegExp][] = [
      [{ name: 'x', interval: 15 }, /interval must be one of 10, 30, 60, 1440, 10080, 44640/],
      [{ name: 'x', interval: 10, cron: '* * * * *' }, /either interval .* or cron, not both/],
      [{ name: 'x' }, /either interval/],
      [{ name: 'x', cron: '61 * * * *' }, /not a valid cron expression/],
      [{ name: 'x', cron: '0 0 * * * *' }, /give the 5 fields/],
      [{ name: 'x', cron: '0 3 * * *', timezone: 'Mars/Olympus' }, /not a time zone/],
      [{ name: 'x', interval: 10, graceMinutes: -1 }, /at least 0/],
      [{ name: '', interval: 10 }, /name must be/],
    ];
    for (const [input, message] of attempts) {
      await expect(stack.heartbeats.create(SETUP_ACTOR, 'crons', input as never)).rejects.toThrow(message);
    }
    await expect(
      stack.heartbeats.create(SETUP_ACTOR, 'crons', { name: 'queue worker', interval: 10 }),
    ).rejects.toThrow(/already has a heartbeat named "queue worker"/);
    const names = (await stack.heartbeats.list('crons')).map((h) => h.name);
    expect(names).toEqual(['queue worker']);
  });

  it('computes a cron heartbeat’s deadline in its time zone, plus grace', async () => {
    const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
      name: 'nightly',
      cron: '30 2 * * *',
      timezone: 'Asia/Tokyo',
      graceMinutes: 15,
    });
    expect(h.schedule).toBe('cron "30 2 * * *" (Asia/Tokyo), 15 min grace');
    // 02:30 in Tokyo is 17:30 UTC; the deadline is 17:45 UTC, within the next 24 hours.
    const due = h.nextDueAt!;
    expect(due.getUTCHours()).toBe(17);
    expect(due.getUTCMinutes()).toBe(45);
    expect(due.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000 + 15 * 60_000);
    // A check-in moves the deadline to the next fire time after it.
    const response = await stack.ping(h.token);
    expect(response.status).toBe(200);
    const after = await row(h.id);
    expect(after.status).toBe('healthy');
    expect(new Date(after.next_due_at).getUTCHours()).toBe(17);
  });

  it('GET or POST /heartbeats/<token> → 200, healthy, next due recomputed; HEAD is not a check-in', async () => {
    const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
      name: 'get-post',
      interval: 60,
      graceMinutes: 5,
    });
    const head = await stack.ping(h.token, '', { method: 'HEAD' });
    expect(head.status).not.toBe(200);
    expect((await row(h.id)).status).toBe('new');

    const before = Date.now();
    const get = await stack.ping(h.token);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('OK\n');
    expect(get.headers.get('cache-control')).toBe('no-store');
    const first = await row(h.id);
    expect(first.status).toBe('healthy');
    expect(new Date(first.last_check_in_at!).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(first.next_due_at).getTime() - new Date(first.last_check_in_at!).getTime()).toBe(
      65 * 60_000,
    );

    await new Promise((resolve) => setTimeout(resolve, 20));
    const post = await stack.ping(h.token, '', {
      method: 'POST',
      body: 'payload=ignored',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(200);
    const second = await row(h.id);
    expect(new Date(second.last_check_in_at!).getTime()).toBeGreaterThan(
      new Date(first.last_check_in_at!).getTime(),
    );
    expect(await events(h.id, 'heartbeat.recovered')).toBe(0);
  });

  it('a check-in of a heartbeat another transaction holds waits alone: the pings sent with it are answered at once', async () => {
    const held = await stack.heartbeats.create(SETUP_ACTOR, 'crons', { name: 'held-row', interval: 60 });
    const free = await stack.heartbeats.create(SETUP_ACTOR, 'crons', { name: 'free-row', interval: 60 });
    const lock = await holdLock(database, 'select 1 from heartbeats where id = $1 for update', [held.id]);
    let heldPing: Promise<Response> | undefined;
    try {
      const started = performance.now();
      heldPing = stack.ping(held.token);
      // Sent in the same moment: they share statements with the held one.
      const answers = await Promise.all(Array.from({ length: 10 }, () => stack.ping(free.token)));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(performance.now() - started).toBeLessThan(1000);
      expect((await row(free.id)).status).toBe('healthy');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await row(held.id)).status).toBe('new');
    } finally {
      await lock.release();
    }
    expect((await heldPing)?.status).toBe(200);
    expect((await row(held.id)).status).toBe('healthy');
  });

  it('a check-in batch skips a row another transaction holds: the rest of the batch is written at once', async () => {
    const held = await stack.heartbeats.create(SETUP_ACTOR, 'crons', { name: 'held-in-batch', interval: 60 });
    const free = await stack.heartbeats.create(SETUP_ACTOR, 'crons', { name: 'free-in-batch', interval: 60 });
    const orm = await openTestOrm(database);
    const lock = await holdLock(database, 'select 1 from heartbeats where id = $1 for update', [held.id]);
    try {
      const checkIns = new HeartbeatCheckIns(orm);
      const started = performance.now();
      // Recorded in the same turn: one statement for both.
      const [heldId, freeId] = await Promise.all([checkIns.record(held.token), checkIns.record(free.token)]);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(freeId).toBe(free.id);
      // Not written by the batch: the caller takes the full path, which waits for that row alone.
      expect(heldId).toBeNull();
    } finally {
      await lock.release();
      await orm.close(true);
    }
  });

  it('check-ins are HOT updates: no index covers a column a check-in writes, and pages keep room for them', async () => {
    // What the common check-in writes (heartbeat-check-ins.ts): an index on any of these would
    // make every ping write index entries across the table's indexes.
    const written = ['status', 'last_check_in_at', 'updated_at', 'next_due_at'];
    const indexes = await database.query<{ name: string; definition: string }>(
      `select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as definition
         from pg_index where indrelid = 'heartbeats'::regclass`,
    );
    expect(indexes.length).toBeGreaterThan(0);
    for (const index of indexes) {
      for (const column of written)
        expect(index.definition, index.name).not.toMatch(new RegExp(`\\b${column}\\b`));
    }
    const [table] = await database.query<{ options: string[] | null }>(
      `select reloptions as options from pg_class where oid = 'heartbeats'::regclass`,
    );
    expect(table?.options).toContain('fillfactor=70');
  });

  it('an unknown or malformed token → 404 and nothing changes', async () => {
    const snapshot = async () => ({
      heartbeats: await database.query(
        'select id, status, last_check_in_at, next_due_at, updated_at from heartbeats order by id',
      ),
      events: await database.query('select count(*)::int as n from notification_events'),
    });
    const before = await snapshot();
    for (const token of ['A'.repeat(32), 'short', 'has spaces in it here', 'x'.repeat(90), '..%2F..%2Fetc']) {
      for (const suffix of ['', '/fail']) {
        const response = await stack.ping(encodeURIComponent(token), suffix, { method: 'POST' });
        expect(response.status).toBe(404);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('overdue → exactly one missing alert, however many sweeps run', async () => {
    const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
      name: 'overdue',
      interval: 10,
      graceMinutes: 0,
    });
    await stack.ping(h.token);
    await stack.overdue(h.id);
    const [alert] = await receiver.waitFor((r) => received(h.id, 'heartbeat.missing').includes(r));
    // Several more sweeps (every second) and explicit ones: nothing more.
    await stack.sweep.run();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(received(h.id, 'heartbeat.missing')).toHaveLength(1);
    expect(await events(h.id, 'heartbeat.missing')).toBe(1);
    const after = await row(h.id);
    expect(after.status).toBe('missing');
    expect(after.missing_since).not.toBeNull();
    const body = alert!.body as { data: { reason: string; heartbeat: { name: string } }; text: string };
    expect(body.data.reason).toBe('overdue');
    expect(body.data.heartbeat.name).toBe('overdue');
    expect(body.text).toContain('Heartbeat missing · crons / overdue');
    expect(body.text).toMatch(/No check-in since \d{4}-\d\d-\d\d \d\d:\d\d UTC\. It was due by/);
  });

  it('two sweeps on two connections at once → one alert per heartbeat', async () => {
    // A project with no channels: the race is about the outbox, not about 300 webhook calls.
    await stack.project('racing');
    for (let i = 0; i < 300; i++) {
      await stack.heartbeats.create(SETUP_ACTOR, 'racing', {
        name: `race-${i}`,
        interval: 30,
        graceMinutes: 0,
      });
    }
    const orms: Orm[] = [await openTestOrm(database), await openTestOrm(database)];
    const outbox = new NotificationOutbox(new NotificationQueue(stack.slipway.queue));
    const sweeps = orms.map((orm) => new HeartbeatSweep(orm, outbox, silent));
    try {
      await database.query(
        `update heartbeats set next_due_at = now() - interval '1 minute' where name like 'race-%'`,
      );
      const results = await Promise.all([sweeps[0]!.run(), sweeps[1]!.run(), stack.sweep.run()]);
      const counts = await database.query<{ id: string; n: number }>(
        `select h.id, count(e.id)::int as n from heartbeats h
           left join notification_events e on e.type = 'heartbeat.missing' and e.data->'heartbeat'->>'id' = h.id::text
          where h.name like 'race-%' group by h.id`,
      );
      expect(counts).toHaveLength(300);
      expect(counts.every((c) => c.n === 1)).toBe(true);
      // The cron sweep may have taken some too; between them all, each heartbeat moved once.
      expect(results.reduce((sum, r) => sum + r.alerted, 0)).toBeLessThanOrEqual(300);
      const statuses = await database.query<{ status: string; n: number }>(
        `select status, count(*)::int as n from heartbeats where name like 'race-%' group by status`,
      );
      expect(statuses).toEqual([{ status: 'missing', n: 300 }]);
    } finally {
      for (const orm of orms) await orm.close(true);
      await database.query(`delete from heartbeats where name like 'race-%'`);
    }
  });

  it('a check-in after missing → one recovery notice; the next check-in sends nothing', async () => {
    const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
      name: 'recovers',
      interval: 10,
      graceMinutes: 0,
    });
    await stack.ping(h.token);
    await stack.overdue(h.id);
    await receiver.waitFor((r) => received(h.id, 'heartbeat.missing').includes(r));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await stack.ping(h.token)).status).toBe(200);
    expect((await stack.ping(h.token)).status).toBe(200);
    const [recovery] = await receiver.waitFor((r) => received(h.id, 'heartbeat.recovered').includes(r));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(received(h.id, 'heartbeat.recovered')).toHaveLength(1);
    expect(await events(h.id, 'heartbeat.recovered')).toBe(1);
    const data = (recovery!.body as { data: { downtimeMs: number } }).data;
    expect(data.downtimeMs).toBeGreaterThanOrEqual(1000);
    expect((recovery!.body as { text: string }).text).toMatch(
      /Checked in again after being missing for \d+\.\d s/,
    );
    expect((await row(h.id)).status).toBe('healthy');
  });

  it('/fail alerts at once with what the job sent; a second failure report adds nothing', async () => {
    const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', { name: 'fails', interval: 1440 });
    await stack.ping(h.token);
    const output = 'pg_dump: error: connection to server failed\nexit status 1';
    const response = await stack.ping(h.token, '/fail', {
      method: 'POST',
      body: output,
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(200);
    expect((await row(h.id)).status).toBe('missing');
    const [alert] = await receiver.waitFor((r) => received(h.id, 'heartbeat.missing').includes(r));
    const body = alert!.body as { data: { reason: string; message: string }; text: string };
    expect(body.data.reason).toBe('failed');
    expect(body.data.message).toBe(output);
    expect(body.text).toContain('The job reported a failure');
    expect(body.text).toContain('    pg_dump: error: connection to server failed');
    expect((await stack.ping(h.token, '/fail')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await events(h.id, 'heartbeat.missing')).toBe(1);
    // The next success is a recovery.
    await stack.ping(h.token);
    await receiver.waitFor((r) => received(h.id, 'heartbeat.recovered').includes(r));
  });

  describe('during a running deployment of the project', () => {
    let environmentId: string;
    // A deployment that runs as far as every replica can tell: its row says running and this
    // test holds its liveness lock, as a live runner does (else the service's reaper would
    // rightly settle it as interrupted, mid-test).
    let liveness: RunLiveness | undefined;
    const running = async () => {
      const id = randomUUID();
      await database.query(
        `insert into deployments (id, project_id, environment_id, kind, status, ref, requested_by_name, source, started_at)
         select $1, p.id, $2, 'deploy', 'running', 'main', 'Ada', 'test', now() from projects p where p.name = 'crons'`,
        [id, environmentId],
      );
      liveness ??= await RunLiveness.open(
        database.url,
        createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
      );
      await liveness.hold(id);
      return id;
    };
    const end = async (id: string) => {
      await database.query(`update deployments set status = 'finished', finished_at = now() where id = $1`, [
        id,
      ]);
      await liveness?.release(id);
    };
    afterAll(async () => liveness?.close());

    beforeAll(async () => {
      environmentId = randomUUID();
      await database.query(
        `insert into environments (id, project_id, name, slug, tier, branch)
         select $1, id, 'production', 'production', 'production', 'main' from projects where name = 'crons'`,
        [environmentId],
      );
    });

    it('holds the missing alert back, then sends it after the deployment if still missing', async () => {
      const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
        name: 'held',
        interval: 10,
        graceMinutes: 0,
      });
      await stack.ping(h.token);
      const deployment = await running();
      await stack.overdue(h.id);
      await stack.sweep.run();
      const held = await row(h.id);
      expect(held.status).toBe('missing');
      expect(held.alert_held_since).not.toBeNull();
      expect((await stack.heartbeats.get('crons', 'held')).alertHeld).toBe(true);
      // Sweeps keep running while the deployment does: still nothing sent.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await events(h.id, 'heartbeat.missing')).toBe(0);
      expect(received(h.id, 'heartbeat.missing')).toHaveLength(0);

      await end(deployment);
      const [alert] = await receiver.waitFor((r) => received(h.id, 'heartbeat.missing').includes(r));
      expect((alert!.body as { data: { heldDuringDeployment: boolean } }).data.heldDuringDeployment).toBe(
        true,
      );
      expect((alert!.body as { text: string }).text).toContain('held while crons was deploying');
      expect((await row(h.id)).alert_held_since).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await events(h.id, 'heartbeat.missing')).toBe(1);
    });

    it('sends nothing at all when the job checks in before the deployment ends', async () => {
      const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
        name: 'held-then-ok',
        interval: 10,
        graceMinutes: 0,
      });
      await stack.ping(h.token);
      const deployment = await running();
      await stack.overdue(h.id);
      await stack.sweep.run();
      expect((await row(h.id)).alert_held_since).not.toBeNull();
      await stack.ping(h.token);
      await end(deployment);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await events(h.id, 'heartbeat.missing')).toBe(0);
      expect(await events(h.id, 'heartbeat.recovered')).toBe(0);
      expect((await row(h.id)).status).toBe('healthy');
    });

    it('does not hold a failure the job reports itself', async () => {
      const h = await stack.heartbeats.create(SETUP_ACTOR, 'crons', {
        name: 'fails-while-deploying',
        interval: 10,
      });
      const deployment = await running();
      try {
        await stack.ping(h.token, '/fail');
        await receiver.waitFor((r) => received(h.id, 'heartbeat.missing').includes(r));
      } finally {
        await end(deployment);
      }
    });
  });

  it('is managed from chat: add shows the ping URL, list shows status, remove deletes it', async () => {
    const { access } = stack.slipway.services;
    const { router } = stack.slipway.chat;
    const user = { platform: 'web' as const, workspace: 'local', userId: 'ada', displayName: 'Ada' };
    const actor = await access.resolve(user);
    await database.query(`update members set global_role = 'admin' where id = $1`, [actor.memberId]);
    const say = (text: string) =>
      router
        .dispatch({ user, conversation: { channel: 'console' }, command: null, text })
        .then((r) => r.reply);

    const added = await say('heartbeat add crons backups "30 2 * * *" grace 30m tz Europe/Paris');
    expect(added.status).toBe('success');
    const ping = added.fields?.find((f) => f.label === 'Ping URL')?.value;
    expect(ping).toMatch(/^https:\/\/slipway\.example\.com\/heartbeats\/[A-Za-z0-9_-]{32}$/);
    expect(added.fields?.find((f) => f.label === 'Schedule')?.value).toBe(
      'cron "30 2 * * *" (Europe/Paris), 30 min grace',
    );
    expect(added.ephemeral).toBe(true);

    expect((await say('heartbeat add crons every-ten 10m')).status).toBe('success');
    const listed = await say('heartbeat list crons');
    expect(listed.text).toContain('*backups* — new');
    expect(listed.text).toContain(ping);
    expect(listed.text).toContain('every 10 minutes, 1 min grace');

    const bad = await say('heartbeat add crons nope 15');
    expect(bad.status).toBe('error');
    expect(bad.text).toContain('15 minutes is not one of the intervals 10, 30, 60, 1440, 10080, 44640');
    expect(bad.footer).toContain('/heartbeat add <project> <name> <interval|cron>');

    const removed = await say('heartbeat remove crons backups');
    expect(removed.text).toBe('Heartbeat crons/backups removed; its ping URL no longer works.');
    const token = ping!.split('/').pop()!;
    expect((await stack.ping(token)).status).toBe(404);

    // A viewer may list but not add.
    const viewer = { platform: 'web' as const, workspace: 'local', userId: 'val', displayName: 'Val' };
    await access.grant(actor, 'crons', viewer, 'viewer');
    const refused = await router
      .dispatch({
        user: viewer,
        conversation: { channel: 'console' },
        command: null,
        text: 'heartbeat add crons x 10',
      })
      .then((r) => r.reply);
    expect(refused.status).toBe('error');
    expect(refused.text).toMatch(/deployer/);
  });
});
