import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackNotificationSender } from '../../adapters/slack/notification-sender.js';
import { createWebhookNotificationSender } from '../../adapters/webhook/notification-sender.js';
import { verifyWebhookSignature } from '../../adapters/webhook/signature.js';
import { AccessPolicy } from '../../src/core/access/index.js';
import { HeartbeatService } from '../../src/core/heartbeats/index.js';
import { NotificationChannelService, SILENT_NOTIFICATIONS } from '../../src/core/notifications/index.js';
import { ProjectSetup } from '../../src/core/projects/index.js';
import { SecretBox } from '../../src/core/secrets/index.js';
import type { Orm } from '../../src/db/orm.js';
import { createOutboundGuard } from '../../src/net/outbound-guard.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';
import { startSlackApi, startWebhookReceiver } from '../support/notification-receivers.js';
import { SETUP_ACTOR } from '../support/notification-stack.js';
import { freePort, runSlipway, type ServiceProcess, waitForStatus } from '../support/service-process.js';

const SLACK_TOKEN = 'xoxb-crash-test';
const SECRET = 'crash-test-secret-0123456789';

/**
 * The process sending a notice is killed (SIGKILL, a real child process) while the platform has
 * the request but has not answered. After a restart the notice is delivered exactly once: Slack
 * is asked for a message carrying the delivery id before posting again; the webhook receiver sees
 * the same delivery id again and, deduplicating as Slipway's README says, processes it once.
 */
describe('a worker killed mid-delivery', () => {
  let database: TestDatabase;
  let orm: Orm;
  let slack: Awaited<ReturnType<typeof startSlackApi>>;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let service: ServiceProcess | undefined;
  const secretKey = randomBytes(32).toString('base64');

  beforeAll(async () => {
    database = await createTestDatabase();
    orm = await openTestOrm(database);
    [slack, hook] = await Promise.all([startSlackApi(SLACK_TOKEN), startWebhookReceiver(SECRET)]);
  });
  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await orm?.close(true);
    await Promise.all([slack?.close(), hook?.close()]);
    await database?.drop();
  });

  const start = async (port: number) => {
    const child = runSlipway(['start'], {
      DATABASE_URL: database.url,
      SLIPWAY_SECRET_KEY: secretKey,
      PORT: String(port),
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_SIGNING_SECRET: 'signing-secret-for-tests',
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'info',
    });
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 60_000, child);
    return child;
  };

  const deliveries = () =>
    database.query<{ id: string; status: string; attempts: number; in_doubt: boolean; channel: string }>(
      `select d.id, d.status, d.attempts, d.in_doubt, c.name as channel
         from notification_deliveries d join notification_channels c on c.id = d.channel_id order by c.name`,
    );

  it('delivers each notice once after a restart', async () => {
    const secrets = SecretBox.fromBase64(secretKey);
    const em = orm.em.fork() as EntityManager;
    await new ProjectSetup(secrets, new AccessPolicy(orm, [])).createProject(em, SETUP_ACTOR, {
      name: 'nightly',
      repository: 'https://example.invalid/nightly.git',
    });
    // The stand-ins listen on loopback: allowed here, as an on-premise operator would.
    const outbound = createOutboundGuard({ allow: ['127.0.0.0/8'] });
    const channels = new NotificationChannelService(
      orm,
      secrets,
      null,
      [
        createSlackNotificationSender({ botToken: SLACK_TOKEN, fetch: outbound.fetch }),
        createWebhookNotificationSender({ fetch: outbound.fetch }),
      ],
      outbound,
    );
    await channels.create(SETUP_ACTOR, 'nightly', { type: 'slack', name: 'a-slack', channel: 'CCRASH' });
    await channels.create(SETUP_ACTOR, 'nightly', {
      type: 'webhook',
      name: 'b-hook',
      webhookUrl: hook.hookUrl,
      secret: SECRET,
    });
    const heartbeat = await new HeartbeatService(orm, SILENT_NOTIFICATIONS, {
      publicUrl: 'http://unused',
    }).create(SETUP_ACTOR, 'nightly', { name: 'backup', interval: 1440 });

    // Both platforms take the request and never answer it.
    let slackHeld = false;
    let hookHeld = false;
    slack.script((r) => {
      if (r.path !== '/api/chat.postMessage' || slackHeld) return undefined;
      slackHeld = true;
      return slack.processThenHold(r);
    });
    hook.script((r) => {
      if (hookHeld) return undefined;
      hookHeld = true;
      return hook.processThenHold(r);
    });

    const port = await freePort();
    service = await start(port);
    const failed = await fetch(`http://127.0.0.1:${port}/heartbeats/${heartbeat.token}/fail`, {
      method: 'POST',
      body: 'backup.sh: exit 2',
    });
    expect(failed.status).toBe(200);
    await slack.waitFor((r) => r.path === '/api/chat.postMessage');
    await hook.waitFor(() => true);
    const inFlight = await deliveries();
    expect(inFlight.map((d) => [d.channel, d.status])).toEqual([
      ['a-slack', 'sending'],
      ['b-hook', 'sending'],
    ]);

    service.child.kill('SIGKILL');
    await service.exited;
    service = undefined;
    expect((await deliveries()).every((d) => d.status === 'sending')).toBe(true);

    slack.clearScripts();
    hook.clearScripts();
    service = await start(port);
    const deadline = Date.now() + 30_000;
    let settled = await deliveries();
    while (!settled.every((d) => d.status === 'delivered')) {
      if (Date.now() > deadline)
        throw new Error(`not delivered: ${JSON.stringify(settled)}\n${service.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      settled = await deliveries();
    }
    expect(settled.map((d) => [d.channel, d.attempts, d.in_doubt])).toEqual([
      ['a-slack', 2, false],
      ['b-hook', 2, false],
    ]);
    expect(service.output()).toContain('sent again (in doubt)');

    // Slack: the restarted worker looked for the message first, found it, and did not post again.
    expect(slack.requests.filter((r) => r.path === '/api/chat.postMessage')).toHaveLength(1);
    expect(slack.requests.filter((r) => r.path === '/api/conversations.history')).toHaveLength(1);
    expect(slack.messages.filter((m) => m.channel === 'CCRASH')).toHaveLength(1);
    const slackDelivery = settled.find((d) => d.channel === 'a-slack')!;
    expect(slack.messages[0]!.body.metadata).toEqual({
      event_type: 'slipway_notice',
      event_payload: { delivery_id: slackDelivery.id },
    });

    // Webhook: sent twice with one delivery id, both signed; the receiver processed it once.
    const hookDelivery = settled.find((d) => d.channel === 'b-hook')!;
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests.map((r) => r.headers['x-slipway-delivery'])).toEqual([
      hookDelivery.id,
      hookDelivery.id,
    ]);
    expect(
      hook.requests.every((r) =>
        verifyWebhookSignature(SECRET, r.raw, r.headers['x-slipway-signature'] as string),
      ),
    ).toBe(true);
    expect([...hook.processed.keys()]).toEqual([hookDelivery.id]);
    expect(hook.duplicates).toHaveLength(1);
    expect(hook.requests.map((r) => r.body.attempt)).toEqual([1, 2]);
  });
});
