import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Heartbeat, NotificationChannel } from '../../src/db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

type Errors = { errors: Record<string, string[]> };
type HeartbeatJson = {
  heartbeat: { id: string; name: string; token: string; ping_url: string; interval: number; status: string };
};
type NotificationJson = {
  id: string;
  name: string;
  type: string;
  options: { target: string; target_kind: string; has_secret: boolean };
  events: string[];
  active: boolean;
};

const WEBHOOK = 'https://hooks.example.test/services/T000/B000/very-secret-path-XYZ';
const SIGNING = 'a-signing-secret-of-32-characters!';

describe('REST API: heartbeats and notifications (Envoyer)', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let admin: string;
  let dev: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    const root = await api.rootToken();
    await api.project(root, 'jobs', [{ name: 'production', tier: 'production' }]);
    admin = await api.token('ada', 'all', [{ project: 'jobs', role: 'admin' }]);
    dev = await api.token('dev', ['heartbeats:create'], [{ project: 'jobs', role: 'deployer' }]);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  it('creates, lists, gets and deletes heartbeats, and the ping URL works', async () => {
    const path = '/api/v1/projects/jobs/heartbeats';
    const bad = await api.call<Errors>('POST', path, { token: dev, body: { name: 'x', interval: 7 } });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.errors)).toEqual(['interval']);
    const created = await api.call<HeartbeatJson>('POST', path, {
      token: dev,
      body: { name: 'nightly backup', interval: 1440 },
    });
    expect(created.status).toBe(201);
    expect(created.body.heartbeat).toMatchObject({ name: 'nightly backup', interval: 1440, status: 'new' });
    const ping = await fetch(created.body.heartbeat.ping_url.replace(/^https?:\/\/[^/]+/, api.stack.url));
    expect(ping.status).toBe(200);
    const shown = await api.call<HeartbeatJson>('GET', `${path}/${created.body.heartbeat.id}`, {
      token: dev,
    });
    expect(shown.body.heartbeat.status).toBe('healthy');
    const byName = await api.call<HeartbeatJson>('GET', `${path}/nightly backup`, { token: dev });
    expect(byName.body.heartbeat.id).toBe(created.body.heartbeat.id);
    expect(
      (await api.call<{ heartbeats: unknown[] }>('GET', path, { token: dev })).body.heartbeats,
    ).toHaveLength(1);
    // dev holds heartbeats:create only.
    expect((await api.call('DELETE', `${path}/${created.body.heartbeat.id}`, { token: dev })).status).toBe(
      403,
    );
    expect(await api.stack.em().count(Heartbeat, {})).toBe(1);
    expect((await api.call('DELETE', `${path}/${created.body.heartbeat.id}`, { token: admin })).status).toBe(
      204,
    );
    expect(await api.stack.em().count(Heartbeat, {})).toBe(0);
  });

  it('manages notification channels and never shows a webhook URL or secret', async () => {
    const path = '/api/v1/projects/jobs/notifications';
    const noScope = await api.call('POST', path, {
      token: dev,
      body: { type: 'slack', name: 'ops', webhookUrl: WEBHOOK },
    });
    expect(noScope.status).toBe(403);
    const invalid = await api.call<Errors>('POST', path, {
      token: admin,
      body: { type: 'webhook', name: 'audit', webhookUrl: 'ftp://files.example.test/x' },
    });
    expect(invalid.status).toBe(422);
    expect(Object.keys(invalid.body.errors).sort()).toEqual(expect.arrayContaining(['webhookUrl']));
    for (const webhookUrl of ['not a url', 'https://user:pass@hooks.example.test/x']) {
      const refused = await api.call<Errors>('POST', path, {
        token: admin,
        body: { type: 'webhook', name: 'audit', webhookUrl, secret: SIGNING },
      });
      expect(refused.status, webhookUrl).toBe(422);
      expect(Object.keys(refused.body.errors)).toContain('webhookUrl');
    }
    const slack = await api.call<{ notifications: NotificationJson[] }>('POST', path, {
      token: admin,
      body: { type: 'slack', name: 'ops', webhookUrl: WEBHOOK, events: ['deployment.*'] },
    });
    expect(slack.status).toBe(201);
    const hook = await api.call<{ notifications: NotificationJson[] }>('POST', path, {
      token: admin,
      body: { type: 'webhook', name: 'audit', webhookUrl: WEBHOOK, secret: SIGNING },
    });
    expect(hook.body.notifications.map((n) => n.name)).toEqual(['audit', 'ops']);
    const ops = hook.body.notifications.find((n) => n.name === 'ops')!;
    expect(ops.options.target_kind).toBe('webhook');
    expect(ops.events.every((e) => e.startsWith('deployment.'))).toBe(true);
    const updated = await api.call<{ notification: NotificationJson }>('PUT', `${path}/ops`, {
      token: admin,
      body: { active: false },
    });
    expect(updated.body.notification.active).toBe(false);
    for (const reply of [
      slack,
      hook,
      updated,
      await api.call('GET', path, { token: dev }),
      await api.call('GET', `${path}/audit`, { token: dev }),
    ]) {
      expect(reply.text).not.toContain('very-secret-path');
      expect(reply.text).not.toContain(SIGNING);
    }
    const stored = await api.stack.em().find(NotificationChannel, {});
    expect(JSON.stringify(stored.map((c) => c.target))).not.toContain('very-secret-path');
    expect((await api.call('DELETE', `${path}/ops`, { token: admin })).status).toBe(204);
    expect((await api.call('GET', `${path}/ops`, { token: admin })).status).toBe(404);
  });
});
