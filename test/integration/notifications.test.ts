import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyToBlocks as renderBlocks } from '../../adapters/slack/blocks.js';
import { signWebhookBody, verifyWebhookSignature } from '../../adapters/webhook/signature.js';
import { notificationReply } from '../../src/chat/index.js';
import type { Actor } from '../../src/core/access/index.js';
import { NOTIFICATION_EVENT_TYPES } from '../../src/core/notifications/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { reportGreen } from '../support/fixtures.js';
import {
  startDiscordApi,
  startReceiver,
  startSlackApi,
  startTeamsWebhook,
  startWebhookReceiver,
} from '../support/notification-receivers.js';
import {
  type NotificationStack,
  SETUP_ACTOR,
  startNotificationSlipway,
} from '../support/notification-stack.js';
import { startSmtpReceiver } from '../support/smtp-receiver.js';

const SLACK_TOKEN = 'xoxb-test-notices';
const DISCORD_TOKEN = 'discord-bot-token-for-tests-0123456789';
const SECRET = 'whsec-0123456789abcdef';

describe('notifications', () => {
  let database: TestDatabase;
  let stack: NotificationStack;
  let slack: Awaited<ReturnType<typeof startSlackApi>>;
  let discord: Awaited<ReturnType<typeof startDiscordApi>>;
  let teams: Awaited<ReturnType<typeof startTeamsWebhook>>;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let repo: FixtureRepository;
  let deployRoot: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    [slack, discord, teams, hook, smtp, repo] = await Promise.all([
      startSlackApi(SLACK_TOKEN),
      startDiscordApi(DISCORD_TOKEN),
      startTeamsWebhook(),
      startWebhookReceiver(SECRET),
      startSmtpReceiver(),
      createFixtureRepository(),
    ]);
    deployRoot = await mkdtemp(join(tmpdir(), 'slipway-notices-'));
    stack = await startNotificationSlipway(database, {
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_SIGNING_SECRET: 'signing-secret-for-tests',
      SLACK_API_URL: slack.apiUrl,
      DISCORD_BOT_TOKEN: DISCORD_TOKEN,
      DISCORD_API_URL: discord.apiUrl,
      SLIPWAY_SMTP_URL: smtp.url,
      SLIPWAY_MAIL_FROM: 'Slipway <slipway@notices.test>',
      SLIPWAY_NOTIFY_RETRY_BASE_MS: '200',
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([slack?.close(), discord?.close(), teams?.close(), hook?.close(), smtp?.close()]);
    await repo?.cleanup();
    if (deployRoot) await rm(deployRoot, { recursive: true, force: true });
    await database?.drop();
  });

  let counter = 0;
  /** A heartbeat that reports failure at once: one `heartbeat.missing` event, now. */
  const failHeartbeat = async (project: string, message?: string) => {
    const h = await stack.heartbeats.create(SETUP_ACTOR, project, { name: `job-${++counter}`, interval: 60 });
    const response = await stack.ping(h.token, '/fail', {
      method: 'POST',
      ...(message ? { body: message, headers: { 'content-type': 'text/plain' } } : {}),
    });
    expect(response.status).toBe(200);
    return h;
  };
  const bodiesFor = (heartbeatId: string) =>
    hook.requests.filter(
      (r) => (r.body.data as { heartbeat?: { id?: string } } | undefined)?.heartbeat?.id === heartbeatId,
    );

  describe('a deployment’s notices', () => {
    let ada: Actor;
    let bob: Actor;

    beforeAll(async () => {
      const { access, setup: projects } = stack.slipway.services;
      const em = stack.em();
      const project = await projects.createProject(em, SETUP_ACTOR, {
        name: 'shop',
        repository: repo.path,
        releasesToKeep: 3,
      });
      const server = await projects.addServer(em, SETUP_ACTOR, project, {
        name: 'local-1',
        host: 'localhost',
        connectAs: 'deploy',
        deployPath: join(deployRoot, 'shop'),
        transport: 'local',
      });
      await projects.createEnvironment(em, SETUP_ACTOR, project, {
        name: 'production',
        tier: 'production',
        branch: 'main',
        servers: [server],
        approvalsRequired: 1,
      });
      await em.flush();
      // CI reports the fixture's commits green: production's test gate lets them through.
      await reportGreen(stack.slipway.services.statuses, 'shop', repo.path);
      ada = await access.resolve({ platform: 'web', workspace: 'local', userId: 'ada', displayName: 'Ada' });
      bob = await access.resolve({ platform: 'web', workspace: 'local', userId: 'bob', displayName: 'Bob' });
      await database.query(`update members set global_role = 'admin' where id in ($1, $2)`, [
        ada.memberId,
        bob.memberId,
      ]);
      await stack.channel('shop', { type: 'slack', name: 'deploys', channel: 'CDEPLOYS' });
      await stack.channel('shop', {
        type: 'discord',
        name: 'discord-hook',
        webhookUrl: discord.webhookUrl(),
      });
      await stack.channel('shop', { type: 'discord', name: 'discord-bot', channel: '987654321098765432' });
      await stack.channel('shop', { type: 'teams', name: 'teams', webhookUrl: teams.webhookUrl });
      await stack.channel('shop', {
        type: 'email',
        name: 'oncall',
        email: ['oncall@shop.test', 'lead@shop.test'],
      });
      await stack.channel('shop', {
        type: 'webhook',
        name: 'audit-hook',
        webhookUrl: hook.hookUrl,
        secret: SECRET,
        events: ['deployment.*', 'approval.*'],
      });
    });

    const runApprovedDeploy = async () => {
      const { deployments, approvals } = stack.slipway.services;
      const requested = await deployments.requestDeploy(ada, { project: 'shop', environment: 'production' });
      await approvals.decide(bob, requested.id, 'approve');
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [row] = await database.query<{ status: string }>(
          'select status from deployments where id = $1',
          [requested.id],
        );
        if (row && !['awaiting_approval', 'queued', 'running'].includes(row.status))
          return { ...requested, ...row };
        if (Date.now() > deadline) throw new Error(`deployment still ${row?.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    it('are one message edited in place (Slack, Discord), a card or an e-mail per event elsewhere', async () => {
      const deployment = await runApprovedDeploy();
      expect(deployment.status).toBe('finished');
      const types = ['approval.requested', 'approval.approved', 'deployment.started', 'deployment.finished'];
      const events = await database.query<{ type: string }>(
        `select type from notification_events where subject = $1 order by seq`,
        [`deployment:${deployment.id}`],
      );
      expect(events.map((e) => e.type)).toEqual(types);
      const rows = await stack.settle('e.subject = $1', [`deployment:${deployment.id}`], 24, [
        'delivered',
        'superseded',
      ]);
      expect(rows).toHaveLength(24);

      // Slack: one chat.postMessage, then chat.update of that same message; it ends "Finished".
      const posts = slack.requests.filter(
        (r) => r.path === '/api/chat.postMessage' && r.body.channel === 'CDEPLOYS',
      );
      expect(posts).toHaveLength(1);
      const [message] = slack.messages.filter((m) => m.channel === 'CDEPLOYS');
      const updates = slack.requests.filter((r) => r.path === '/api/chat.update');
      expect(updates.every((u) => u.body.ts === message!.ts && u.body.channel === 'CDEPLOYS')).toBe(true);
      const last = JSON.stringify(message!.body.blocks);
      expect(last).toContain(`Deploy #${deployment.number} · shop → production`);
      expect(last).toContain('Finished in');
      expect(last).toContain('Approved by');
      expect(last).toContain('Bob');
      // The buttons Slack can handle are on the card: Approve and Reject while it waited (the
      // approval card may be superseded before it is sent, so it is rendered from the outbox
      // here); no Rollback at the end, as this first release of production has nothing to go back to.
      const [approval] = await database.query<{ data: unknown }>(
        `select data from notification_events where subject = $1 and type = 'approval.requested'`,
        [`deployment:${deployment.id}`],
      );
      const card = renderBlocks(
        notificationReply({ type: 'approval.requested', data: approval!.data } as never),
      );
      expect(JSON.stringify(card)).toContain('"action_id":"approve"');
      expect(last).not.toContain('"action_id":"rollback"');

      // Discord webhook: one execute with ?wait=true, the rest PATCH that message; bot: nonce enforced.
      const executes = discord.requests.filter(
        (r) => r.method === 'POST' && r.path.startsWith('/api/webhooks/'),
      );
      expect(executes).toHaveLength(1);
      expect(executes[0]!.query.get('wait')).toBe('true');
      const hookMessage = [...discord.messages.entries()].find(([, m]) => m.channel.startsWith('webhook-'))!;
      const patches = discord.requests.filter(
        (r) => r.method === 'PATCH' && r.path.startsWith('/api/webhooks/'),
      );
      expect(patches.every((p) => p.path.endsWith(`/messages/${hookMessage[0]}`))).toBe(true);
      const embed = (
        hookMessage[1].body.embeds as { title: string; description: string; color: number }[]
      )[0]!;
      expect(embed.title).toBe(`Deploy #${deployment.number} · shop → production`);
      expect(embed.description).toContain('Finished in');
      expect(embed.color).toBe(0x57f287);
      const botPosts = discord.requests.filter(
        (r) => r.method === 'POST' && r.path.startsWith('/api/v10/channels/'),
      );
      expect(botPosts).toHaveLength(1);
      expect(botPosts[0]!.headers.authorization).toBe(`Bot ${DISCORD_TOKEN}`);
      expect(botPosts[0]!.body.enforce_nonce).toBe(true);
      expect(String(botPosts[0]!.body.nonce)).toHaveLength(25);
      expect(botPosts[0]!.body.allowed_mentions).toEqual({ parse: [] });

      // Teams cannot edit: one Adaptive Card per event, in order.
      const cards = teams.requests.map((r) =>
        (r.body.attachments as { content: { body: { inlines?: { text: string }[] }[] } }[])[0]!.content.body
          .flatMap((b) => b.inlines ?? [])
          .map((run) => run.text)
          .join(' '),
      );
      expect(cards).toHaveLength(4);
      expect(cards[0]).toContain('Waiting for approval');
      expect(cards[3]).toContain('Finished in');
      expect(teams.requests[0]!.body.attachments).toMatchObject([
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: { type: 'AdaptiveCard', version: '1.4' },
        },
      ]);

      // E-mail: one per event, to both addresses, threaded under one reference, ids from the deliveries.
      const mails = await smtp.waitFor(4);
      expect(mails).toHaveLength(4);
      expect(mails.every((m) => m.to.join() === 'oncall@shop.test,lead@shop.test')).toBe(true);
      expect(new Set(mails.map((m) => m.headers.get('references'))).size).toBe(1);
      expect(mails[3]!.subject).toBe(`[Slipway] Deploy #${deployment.number} · shop → production`);
      const mailIds = rows.filter((r) => r.channel === 'oncall').map((r) => `<${r.id}@notices.test>`);
      expect(mails.map((m) => m.headers.get('message-id')).sort()).toEqual(mailIds.sort());
      expect(mails[3]!.raw).toContain('Content-Type: text/html');

      // The signed webhook got all four, in order.
      const hooked = hook.requests.filter(
        (r) => (r.body.subject as string | undefined) === `deployment:${deployment.id}`,
      );
      expect(hooked.map((r) => r.body.type)).toEqual(types);
    });

    it('of a failure show the failing step and its log tail', async () => {
      await database.query(`update projects set install_command = $1 where name = 'shop'`, [
        'echo "compiling assets"; echo "error: out of disk space" >&2; exit 3',
      ]);
      const deployment = await runApprovedDeploy();
      expect(deployment.status).toBe('failed');
      await stack.settle(
        "e.subject = $1 and c.name in ('deploys', 'audit-hook')",
        [`deployment:${deployment.id}`],
        8,
        ['delivered', 'superseded'],
      );
      const [message] = slack.messages.filter(
        (m) => m.channel === 'CDEPLOYS' && JSON.stringify(m.body.blocks).includes(`#${deployment.number} `),
      );
      const text = JSON.stringify(message!.body.blocks);
      expect(text).toContain('Failed at step');
      expect(text).toContain('error: out of disk space');
      const failed = hook.requests.find(
        (r) => r.body.type === 'deployment.failed' && r.body.subject === `deployment:${deployment.id}`,
      );
      expect(failed!.body.text).toContain('[FAILED] Deploy');
      expect(failed!.body.text).toContain('    error: out of disk space');
      await database.query(`update projects set install_command = null where name = 'shop'`);
    });
  });

  describe('webhook channels', () => {
    beforeAll(async () => {
      await stack.project('hooks');
      await stack.channel('hooks', {
        type: 'webhook',
        name: 'signed',
        webhookUrl: hook.hookUrl,
        secret: SECRET,
      });
    });

    it('sign the raw body with HMAC-SHA256 of the channel secret; the receiver verifies it', async () => {
      const h = await failHeartbeat('hooks', 'disk full');
      const [request] = await hook.waitFor((r) => bodiesFor(h.id).includes(r));
      const signature = request!.headers['x-slipway-signature'] as string;
      expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(signature).toBe(signWebhookBody(SECRET, request!.raw));
      expect(verifyWebhookSignature(SECRET, request!.raw, signature)).toBe(true);
      expect(verifyWebhookSignature('another-secret-0000', request!.raw, signature)).toBe(false);
      expect(verifyWebhookSignature(SECRET, request!.raw.replace('disk full', 'all good'), signature)).toBe(
        false,
      );
      expect(hook.rejected).toHaveLength(0);
      expect(request!.headers['x-slipway-event']).toBe('heartbeat.missing');
      const [delivery] = await stack.settle(
        "c.name = 'signed' and e.data->'heartbeat'->>'id' = $1",
        [h.id],
        1,
      );
      expect(request!.headers['x-slipway-delivery']).toBe(delivery!.id);
      expect(request!.headers['idempotency-key']).toBe(delivery!.id);
      expect(request!.body).toMatchObject({
        delivery_id: delivery!.id,
        type: 'heartbeat.missing',
        project: 'hooks',
        attempt: 1,
        data: { reason: 'failed', message: 'disk full', heartbeat: { id: h.id, name: h.name } },
        message: { status: 'error', title: `Heartbeat missing · hooks / ${h.name}` },
      });
      expect(request!.body.text).toContain(`[FAILED] Heartbeat missing · hooks / ${h.name}`);
    });

    it('a 429 with Retry-After: 2 is sent again after 2 s, not before — and the whole channel waits', async () => {
      const stop = hook.failNext(1, { status: 429, headers: { 'retry-after': '2' }, body: 'slow down' });
      try {
        const first = await failHeartbeat('hooks');
        const [limited] = await hook.waitFor((r) => bodiesFor(first.id).includes(r));
        // A second notice to the same channel during the wait must wait too.
        const second = await failHeartbeat('hooks');
        const [, retried] = await hook.waitFor((r) => bodiesFor(first.id).includes(r), 2);
        const [secondSent] = await hook.waitFor((r) => bodiesFor(second.id).includes(r));
        expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(2000);
        expect(retried!.at - limited!.at).toBeLessThan(3500);
        expect(secondSent!.at - limited!.at).toBeGreaterThanOrEqual(2000);
        expect(bodiesFor(first.id)).toHaveLength(2);
        const [row] = await stack.settle(
          "c.name = 'signed' and e.data->'heartbeat'->>'id' = $1",
          [first.id],
          1,
        );
        expect(row!.attempts).toBe(2);
        // Being rate limited is not failing.
        const [channel] = await database.query<{ consecutive_failures: number; failing_since: Date | null }>(
          `select consecutive_failures, failing_since from notification_channels where name = 'signed'`,
        );
        expect(channel).toEqual({ consecutive_failures: 0, failing_since: null });
      } finally {
        stop();
      }
    });

    it('a 500 three times is delivered on the fourth try, each retry later than the last', async () => {
      const h = await stack.heartbeats.create(SETUP_ACTOR, 'hooks', { name: 'flaky', interval: 10 });
      const stop = hook.failNext(3, { status: 500, body: 'oops' }, (r) => bodiesFor(h.id).includes(r));
      try {
        await stack.ping(h.token, '/fail');
        const tries = await hook.waitFor((r) => bodiesFor(h.id).includes(r), 4);
        const [row] = await stack.settle("c.name = 'signed' and e.data->'heartbeat'->>'id' = $1", [h.id], 1);
        expect(row!.status).toBe('delivered');
        expect(row!.attempts).toBe(4);
        expect(hook.processed.has(row!.id)).toBe(true);
        expect(tries.map((t) => t.body.attempt)).toEqual([1, 2, 3, 4]);
        const gaps = tries.slice(1).map((t, i) => t.at - tries[i]!.at);
        // Base 200 ms, doubling, equal jitter: [100, 200], [200, 400], [400, 800] ms (plus polling).
        expect(gaps[0]).toBeGreaterThanOrEqual(100);
        expect(gaps[1]).toBeGreaterThanOrEqual(200);
        expect(gaps[2]).toBeGreaterThanOrEqual(400);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(bodiesFor(h.id)).toHaveLength(4);
      } finally {
        stop();
      }
    });
  });

  describe('a channel that keeps failing', () => {
    let gone: Awaited<ReturnType<typeof startReceiver>>;
    beforeAll(async () => {
      gone = await startReceiver(() => ({ status: 404, body: 'no such webhook' }));
      await stack.project('broken');
    });
    afterAll(() => gone?.close());

    it('is marked and reported at the first permanent error; nothing is lost: fixing it delivers the backlog', async () => {
      const channel = await stack.channel('broken', {
        type: 'webhook',
        name: 'deleted-hook',
        webhookUrl: `${gone.url}/gone`,
        secret: SECRET,
      });
      const first = await failHeartbeat('broken');
      const second = await failHeartbeat('broken');
      const failed = await stack.settle("c.name = 'deleted-hook'", [], 2, ['failed']);
      expect(failed.every((row) => row.attempts === 1 && /HTTP 404/.test(row.last_error ?? ''))).toBe(true);
      const view = await stack.channels.get('broken', channel.id);
      expect(view.health.status).toBe('failing');
      // The status and our own words; never the receiver's body (issue 14, item 4).
      expect(view.health.lastError).toMatch(/HTTP 404 \(Not Found\)/);
      expect(view.health.lastError).not.toContain('no such webhook');
      const reports = await database.query(`select action, result from audit_events where target_id = $1`, [
        channel.id,
      ]);
      expect(reports).toContainEqual({ action: 'notification_channel.failing', result: 'failed' });
      expect(reports.filter((r) => r.action === 'notification_channel.failing')).toHaveLength(1);

      await stack.channels.update(SETUP_ACTOR, 'broken', channel.id, { webhookUrl: hook.hookUrl });
      await stack.settle("c.name = 'deleted-hook'", [], 2, ['delivered']);
      expect(bodiesFor(first.id)).toHaveLength(1);
      expect(bodiesFor(second.id)).toHaveLength(1);
      const after = await stack.channels.get('broken', channel.id);
      expect(after.health.status).toBe('ok');
      expect(after.health.failingSince).toBeNull();
    });

    it('is marked failing after 5 failures in a row while it keeps retrying, and recovers on the next success', async () => {
      const flaky = await startReceiver(() => ({ status: 200, body: 'ok' }));
      const stop = flaky.script(() => ({ status: 503, body: 'maintenance' }));
      try {
        const channel = await stack.channel('broken', {
          type: 'webhook',
          name: 'flaky-hook',
          webhookUrl: `${flaky.url}/hook`,
          secret: SECRET,
          events: ['heartbeat.missing'],
        });
        await failHeartbeat('broken');
        const deadline = Date.now() + 30_000;
        for (;;) {
          const view = await stack.channels.get('broken', channel.id);
          if (view.health.status === 'failing') {
            expect(view.health.consecutiveFailures).toBeGreaterThanOrEqual(5);
            break;
          }
          if (Date.now() > deadline) throw new Error('the channel was never marked failing');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const [retrying] = await stack.deliveries("c.name = 'flaky-hook'");
        expect(retrying!.status).toBe('retrying');
        stop();
        await stack.settle("c.name = 'flaky-hook'", [], 1, ['delivered'], 60_000);
        const view = await stack.channels.get('broken', channel.id);
        expect(view.health).toMatchObject({ status: 'ok', consecutiveFailures: 0, failingSince: null });
        const audit = await database.query<{ action: string }>(
          `select action from audit_events where target_id = $1 order by id`,
          [channel.id],
        );
        expect(audit.map((a) => a.action)).toEqual([
          'notification_channel.create',
          'notification_channel.failing',
          'notification_channel.recovered',
        ]);
      } finally {
        await flaky.close();
      }
    });
  });

  it('paces a Slack channel to about one message a second', async () => {
    await stack.project('paced');
    await stack.channel('paced', { type: 'slack', name: 'alerts', channel: 'CPACED' });
    for (let i = 0; i < 3; i++) await failHeartbeat('paced');
    const posts = await slack.waitFor(
      (r) => r.path === '/api/chat.postMessage' && r.body.channel === 'CPACED',
      3,
    );
    const gaps = posts.slice(1).map((p, i) => p.at - posts[i]!.at);
    expect(gaps.every((gap) => gap >= 900)).toBe(true);
  });

  it('reaches only active channels subscribed to the event; global channels hear every project', async () => {
    const { setup: projects, locks } = stack.slipway.services;
    const em = stack.em();
    const project = await stack.project('routing');
    await projects.createEnvironment(em, SETUP_ACTOR, project, {
      name: 'staging',
      tier: 'staging',
      branch: 'main',
      servers: [],
    });
    await em.flush();
    const heartbeatsOnly = await stack.channel('routing', {
      type: 'slack',
      name: 'hb',
      channel: 'CHB',
      events: ['heartbeat.*'],
    });
    await stack.channel('routing', { type: 'slack', name: 'off', channel: 'COFF', active: false });
    await stack.channel(null, {
      type: 'slack',
      name: 'global-locks',
      channel: 'CGLOBAL',
      events: ['environment.*'],
    });
    expect(heartbeatsOnly.events).toEqual(['heartbeat.missing', 'heartbeat.recovered']);
    await expect(
      stack.channel(null, { type: 'slack', name: 'global-locks', channel: 'CDUP' }),
    ).rejects.toThrow(/already a global notification channel named "global-locks"/);

    const actor: Actor = { memberId: null, name: 'Eve', source: 'test' };
    await locks.lock(actor, {
      project: 'routing',
      environment: 'staging',
      reason: 'db migration',
      minutes: 30,
    });
    await failHeartbeat('routing');
    const [locked] = await slack.waitFor(
      (r) => r.path === '/api/chat.postMessage' && r.body.channel === 'CGLOBAL',
    );
    await slack.waitFor((r) => r.path === '/api/chat.postMessage' && r.body.channel === 'CHB');
    expect(String(locked!.body.text)).toContain('🔒 routing/staging locked');
    expect(JSON.stringify(locked!.body.blocks)).toContain('Locked by Eve: db migration, until');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const to = (channel: string) =>
      slack.requests.filter((r) => r.path === '/api/chat.postMessage' && r.body.channel === channel);
    expect(to('CHB')).toHaveLength(1);
    expect(to('CGLOBAL')).toHaveLength(1);
    expect(to('COFF')).toHaveLength(0);
  });

  it('sends each event to a channel at most once, whatever job runs again', async () => {
    await stack.project('once');
    await stack.channel('once', {
      type: 'webhook',
      name: 'once-hook',
      webhookUrl: hook.hookUrl,
      secret: SECRET,
    });
    const h = await failHeartbeat('once');
    const [row] = await stack.settle("c.name = 'once-hook'", [], 1);
    const [event] = await database.query<{ id: string }>(
      `select id from notification_events where data->'heartbeat'->>'id' = $1`,
      [h.id],
    );
    const { deliveries: worker } = stack.slipway.services;
    expect(await worker.fanOut([event!.id])).toBe(0);
    await worker.deliver(row!.id);
    await stack.slipway.jobs.notifications.fanOut([event!.id]);
    await stack.slipway.jobs.notifications.deliver([{ id: row!.id }]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(bodiesFor(h.id)).toHaveLength(1);
    expect(await stack.deliveries("c.name = 'once-hook'")).toHaveLength(1);
  });

  describe('the channel service', () => {
    beforeAll(() => stack.project('config'));

    it('refuses bad input with a specific message per field, and creates nothing', async () => {
      const bad: [unknown, RegExp][] = [
        [{ type: 'pager', name: 'x', webhookUrl: 'https://x.test' }, /type must be one of slack, discord/],
        [{ type: 'slack', name: 'x' }, /either webhookUrl or channel/],
        [{ type: 'slack', name: 'x', webhookUrl: 'https://h.test/a', channel: 'C1' }, /not both/],
        [{ type: 'webhook', name: 'x', webhookUrl: 'https://h.test/a' }, /needs a secret/],
        [{ type: 'webhook', name: 'x', webhookUrl: 'https://h.test/a', secret: 'short' }, /at least 16/],
        [{ type: 'webhook', name: 'x', webhookUrl: 'ftp://h.test/a', secret: SECRET }, /http\(s\) URL/],
        [{ type: 'teams', name: 'x', webhookUrl: 'https://u:p@h.test/a' }, /user or password/],
        [{ type: 'email', name: 'x', email: 'not-an-address' }, /valid e-mail/],
        [{ type: 'discord', name: 'x', channel: 'general' }, /Discord channel id/],
        [{ type: 'slack', name: 'x', channel: 'C1', events: ['deployment.exploded'] }, /is not an event/],
        [{ type: 'slack', name: 'x', channel: 'C1', events: [] }, /at least one event/],
      ];
      for (const [input, message] of bad) {
        await expect(stack.channels.create(SETUP_ACTOR, 'config', input as never)).rejects.toThrow(message);
      }
      expect(await stack.channels.list('config')).toEqual([]);
    });

    it('never shows a webhook URL or secret; lists, updates and removes with an audit trail', async () => {
      const url = 'https://hooks.slack.com/services/T000/B000/XXXXsecretpartZZ9a';
      const created = await stack.channels.create(SETUP_ACTOR, 'config', {
        type: 'slack',
        name: 'ops',
        webhookUrl: url,
        events: ['deployment.failed', 'heartbeat.*'],
      });
      expect(created).toMatchObject({
        project: 'config',
        type: 'slack',
        targetKind: 'webhook',
        target: 'https://hooks.slack.com/…ZZ9a',
        events: ['deployment.failed', 'heartbeat.missing', 'heartbeat.recovered'],
        active: true,
        hasSecret: false,
        health: { status: 'untested' },
      });
      const hooked = await stack.channels.create(SETUP_ACTOR, 'config', {
        type: 'webhook',
        name: 'siem',
        webhookUrl: 'https://siem.test/ingest/abcdef',
        secret: SECRET,
      });
      const everything = JSON.stringify([await stack.channels.list('config'), hooked]);
      expect(everything).not.toContain('XXXXsecretpart');
      expect(everything).not.toContain(SECRET);
      const stored = await database.query<{ target: string; secret: string | null }>(
        `select target, secret from notification_channels where project_id = (select id from projects where name = 'config')`,
      );
      expect(JSON.stringify(stored)).not.toContain('XXXXsecretpart');
      expect(JSON.stringify(stored)).not.toContain(SECRET);
      const audit = await database.query(
        'select action, details from audit_events where target_id = any($1)',
        [[created.id, hooked.id]],
      );
      expect(JSON.stringify(audit)).not.toContain('XXXXsecretpart');
      expect(JSON.stringify(audit)).not.toContain(SECRET);

      expect(
        await stack.channels.differences('config', 'ops', {
          type: 'slack',
          name: 'ops',
          webhookUrl: url,
          events: ['heartbeat.*', 'deployment.failed'],
        }),
      ).toEqual([]);
      expect(
        await stack.channels.differences('config', 'ops', {
          type: 'slack',
          name: 'ops',
          webhookUrl: `${url}x`,
        }),
      ).toEqual(['events', 'target']);

      const updated = await stack.channels.update(SETUP_ACTOR, 'config', created.id, {
        name: 'ops-alerts',
        active: false,
        events: ['*'],
      });
      expect(updated).toMatchObject({ name: 'ops-alerts', active: false, target: created.target });
      // `*` is every event there is.
      expect(updated.events).toEqual([...NOTIFICATION_EVENT_TYPES]);
      await expect(
        stack.channels.update(SETUP_ACTOR, 'config', created.id, { secret: SECRET }),
      ).rejects.toThrow(/secret only applies to a webhook channel/);
      await expect(
        stack.channels.create(SETUP_ACTOR, 'config', { type: 'slack', name: 'ops-alerts', channel: 'C9' }),
      ).rejects.toThrow(/already has a notification channel named "ops-alerts"/);
      const removed = await stack.channels.remove(SETUP_ACTOR, 'config', 'ops-alerts');
      expect(removed.id).toBe(created.id);
      await expect(stack.channels.get('config', created.id)).rejects.toThrow(/has no notification channel/);
      const actions = await database.query<{ action: string }>(
        'select action from audit_events where target_id = $1 order by id',
        [created.id],
      );
      expect(actions.map((a) => a.action)).toEqual([
        'notification_channel.create',
        'notification_channel.update',
        'notification_channel.delete',
      ]);
    });
  });
});
