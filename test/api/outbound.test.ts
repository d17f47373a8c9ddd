import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type Receiver, startReceiver } from '../support/notification-receivers.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

const SIGNING = 'a-signing-secret-0123456789';
const INTERNAL_BODY = 'root:x:0:0:internal-service-secret-body';

/**
 * Issue 14, item 4 end to end: webhook channels, health checks and http(s) repositories cannot
 * reach internal addresses by default, and a channel's stored error never carries the remote body.
 */
describe('outbound calls to internal addresses (strict default)', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let internal: Receiver;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The harness allows loopback for its stand-ins; this stack is as strict as a default install.
    api = await startApiStack(database, { SLIPWAY_ALLOW_PRIVATE_TARGETS: '' });
    root = await api.rootToken();
    await api.project(root, 'shop', [{ name: 'staging', tier: 'staging' }]);
    internal = await startReceiver(() => ({ status: 200, body: INTERNAL_BODY }));
  });
  afterAll(async () => {
    await internal?.close();
    await api?.stop();
    await database?.drop();
  });

  it('refuses webhook channels to internal addresses, in every spelling', async () => {
    const port = new URL(internal.url).port;
    for (const webhookUrl of [
      `http://127.0.0.1:${port}/hook`,
      `http://localhost:${port}/hook`,
      `http://[::1]:${port}/hook`,
      `http://0x7f000001:${port}/hook`,
      `http://2130706433:${port}/hook`,
      `http://0:${port}/hook`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/hook',
      'http://[fd12::1]/hook',
    ]) {
      for (const type of ['webhook', 'slack', 'discord', 'teams']) {
        const reply = await api.call<{ errors: Record<string, string[]> }>(
          'POST',
          '/api/v1/projects/shop/notifications',
          {
            token: root,
            body: { type, name: `n-${type}`, webhookUrl, ...(type === 'webhook' ? { secret: SIGNING } : {}) },
          },
        );
        expect(reply.status, `${type} ${webhookUrl}: ${reply.text}`).toBe(422);
        expect(reply.body.errors.webhookUrl?.[0], webhookUrl).toMatch(/refused to call/);
      }
    }
    expect(await database.query('select 1 from notification_channels')).toHaveLength(0);
    expect(internal.requests).toHaveLength(0);
  });

  it('refuses an http repository on an internal address, before and during git', async () => {
    const source = await api.call('PUT', '/api/v1/projects/shop/source', {
      token: root,
      body: { repository: `http://127.0.0.1:${new URL(internal.url).port}/repo.git` },
    });
    expect(source.status).toBe(200);
    const deploy = await api.call('POST', '/api/v1/projects/shop/deployments', {
      token: root,
      body: { environment: 'staging' },
    });
    expect(deploy.status).toBeGreaterThanOrEqual(400);
    expect(deploy.status).toBeLessThan(500);
    expect(String(deploy.body.message)).toMatch(/refused to call/);
    expect(internal.requests).toHaveLength(0);
    const back = await api.call('PUT', '/api/v1/projects/shop/source', {
      token: root,
      body: { repository: api.repo.path },
    });
    expect(back.status).toBe(200);
  });

  it('refuses a health check of an internal address, without calling it', async () => {
    const set = await api.call('PUT', '/api/v1/projects/shop', {
      token: root,
      body: { health_check_url: `${internal.url}/health` },
    });
    expect(set.status).toBe(200);
    const created = await api.call<{ deployment: { id: string } }>(
      'POST',
      '/api/v1/projects/shop/deployments',
      {
        token: root,
        body: { environment: 'staging' },
      },
    );
    expect(created.status, created.text).toBe(201);
    const done = await api.waitFor(created.body.deployment.id, ended);
    expect(done.status).toBe('failed');
    expect(done.failureReason ?? '').toMatch(/Health check failed: .*refused to call/);
    expect(internal.requests).toHaveLength(0);
  }, 60_000);
});

describe('a channel whose receiver fails: the stored error has the status, never the body', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let failing: Receiver;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database, {
      SLIPWAY_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
      SLIPWAY_NOTIFY_MAX_ATTEMPTS: '1',
    });
    root = await api.rootToken();
    await api.project(root, 'shop', [{ name: 'staging', tier: 'staging' }]);
    failing = await startReceiver(() => ({ status: 404, body: INTERNAL_BODY }));
  });
  afterAll(async () => {
    await failing?.close();
    await api?.stop();
    await database?.drop();
  });

  it('keeps "HTTP 404" and a short reason in last_error', async () => {
    const made = await api.call('POST', '/api/v1/projects/shop/notifications', {
      token: root,
      body: { type: 'webhook', name: 'audit', webhookUrl: `${failing.url}/hook`, secret: SIGNING },
    });
    expect(made.status, made.text).toBe(201);
    const created = await api.call<{ deployment: { id: string } }>(
      'POST',
      '/api/v1/projects/shop/deployments',
      {
        token: root,
        body: { environment: 'staging' },
      },
    );
    await api.waitFor(created.body.deployment.id, ended);
    const deadline = Date.now() + 30_000;
    let lastError: string | null = null;
    while (Date.now() < deadline && !lastError) {
      const rows = await database.query<{ last_error: string | null }>(
        'select last_error from notification_channels',
      );
      lastError = rows[0]?.last_error ?? null;
      if (!lastError) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(lastError).toMatch(/HTTP 404/);
    expect(lastError).not.toContain('internal-service-secret-body');
    const shown = await api.call('GET', '/api/v1/projects/shop/notifications', { token: root });
    expect(shown.text).not.toContain('internal-service-secret-body');
    const deliveries = await database.query<{ last_error: string | null }>(
      'select last_error from notification_deliveries',
    );
    for (const row of deliveries) expect(row.last_error ?? '').not.toContain('internal-service-secret-body');
  }, 60_000);
});
