import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/access/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { startChatSlipway } from '../support/chat-stack.js';
import { createTestDatabase, holdLock, type TestDatabase } from '../support/database.js';
import { reportGreen } from '../support/fixtures.js';
import {
  type BotConnector,
  type BotFrameworkIdentity,
  type ConnectorRequest,
  cardAction,
  cardOf,
  cardText,
  channelMessage,
  groupChatMessage,
  personalMessage,
  postActivity,
  signingKey,
  startBotConnector,
  startBotFrameworkIdentity,
  type TeamsPerson,
} from '../support/teams-fake.js';

const APP_ID = '00000000-0000-4000-8000-00000000b07a';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const BOT = `28:${APP_ID}`;
const TEAM = '19:team-general@thread.tacv2';
const CHANNEL = '19:deploys@thread.tacv2';
const SETUP: Actor = { memberId: null, name: 'setup', source: 'test' };

const person = (name: string, n: number): TeamsPerson => ({
  id: `29:1${name}-teams-id`,
  aadObjectId: `00000000-0000-4000-a000-${String(n).padStart(12, '0')}`,
  name,
});
const DEV = person('Dev', 1);
const ALICE = person('Alice', 2);
const BOB = person('Bob', 3);
const VICTOR = person('Victor', 4);
const ADMIN = person('Admin', 5);
const CAROL = person('Carol', 6);

type Invoke = { statusCode: number; type: string; value: unknown };

/**
 * Teams end to end: real-format activities (Microsoft's documented shapes: a channel message
 * with an @mention, a personal message, an `adaptiveCard/action` invoke) with a real RS256
 * Bot Framework JWT (a throwaway key published by a local OpenID metadata server) posted over
 * HTTP to Slipway's /api/messages; botbuilder's own client sending the replies and card updates
 * to a local Bot Connector (the activities' serviceUrl) with a token from a local token endpoint;
 * deployments running on the local transport.
 */
describe('Teams adapter end to end', () => {
  let database: TestDatabase;
  let repo: FixtureRepository;
  let deployRoot: string;
  let identity: BotFrameworkIdentity;
  let connector: BotConnector;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  let env: Record<string, string>;

  const where = () => ({ serviceUrl: connector.serviceUrl, tenantId: TENANT, botId: BOT });
  const inChannel = () => ({ ...where(), teamId: TEAM, channelId: CHANNEL });
  const send = (activity: { serviceUrl: string }, token?: string | null) =>
    postActivity(
      stack.url,
      activity,
      token === undefined ? identity.sign({ serviceUrl: activity.serviceUrl }) : token,
    );
  const personal = (from: TeamsPerson, text: string) =>
    send(personalMessage(where(), from, text, `a:1personal-${from.name}`));
  /** A click (or refresh) on a card the Connector received, answered in the invoke response. */
  const click = async (
    from: TeamsPerson,
    card: ConnectorRequest,
    verb: string,
    data: Record<string, unknown>,
    trigger: 'manual' | 'automatic' = 'manual',
  ) => {
    const activity = cardAction(
      {
        ...where(),
        conversationId: card.conversationId,
        conversationType: card.conversationId.startsWith('19:') ? 'channel' : 'personal',
        ...(card.conversationId.startsWith('19:') ? { teamId: TEAM } : {}),
      },
      from,
      { verb, data },
      card.id ?? '',
      trigger,
    );
    const started = performance.now();
    const response = await send(activity);
    const ms = performance.now() - started;
    expect(response.status).toBe(200);
    return { body: (await response.json()) as Invoke, ms };
  };
  const posted = (text: string) =>
    connector.waitFor((r) => r.kind === 'send' && !r.failed && cardText(r.body).includes(text));
  const updated = (id: string | undefined, text: string, timeoutMs = 60_000) =>
    connector.waitFor(
      (r) => r.kind === 'update' && !r.failed && r.activityId === id && cardText(r.body).includes(text),
      timeoutMs,
    );
  const deployments = () =>
    database.query<{ id: string; number: number; status: string }>(
      `select d.id, d.number, d.status from deployments d join projects p on p.id = d.project_id
        where p.name = 'app' order by d.number`,
    );
  const waitForStatus = async (id: string, status: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await database.query<{ status: string }>('select status from deployments where id = $1', [
        id,
      ]);
      if (row?.status === status) return;
      if (Date.now() > deadline) throw new Error(`deployment ${id} is ${row?.status}, not ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const actionsOf = (card: Record<string, unknown>) =>
    ((card.actions ?? []) as { type: string; verb?: string; card?: { actions?: { verb?: string }[] } }[]).map(
      (action) => action.verb ?? action.card?.actions?.[0]?.verb ?? action.type,
    );

  const startStack = async () => {
    stack = await startChatSlipway(database, env);
    const { access, setup } = stack.slipway.services;
    return { access, setup };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    repo = await createFixtureRepository();
    deployRoot = await mkdtemp(join(tmpdir(), 'slipway-teams-'));
    identity = await startBotFrameworkIdentity({
      appId: APP_ID,
      appPassword: 'teams-client-secret-for-tests',
      tenantId: TENANT,
    });
    connector = await startBotConnector();
    for (const p of [DEV, ALICE, BOB, VICTOR, ADMIN, CAROL]) connector.addMember(p);
    env = {
      ...identity.env,
      TEAMS_APP_TYPE: 'SingleTenant',
      TEAMS_SERVICE_URL: connector.serviceUrl,
      SLIPWAY_ADMINS: `teams:${TENANT}:${ADMIN.aadObjectId}`,
      // The same key across the restart: the project's secrets must stay readable.
      SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
    };
    const { access, setup } = await startStack();
    const em = stack.em();
    const project = await setup.createProject(em, SETUP, {
      name: 'app',
      repository: repo.path,
      releasesToKeep: 3,
      testGates: { staging: 'warn', production: 'warn' },
    });
    const server = await setup.addServer(em, SETUP, project, {
      name: 'local-1',
      host: 'localhost',
      connectAs: 'deploy',
      deployPath: join(deployRoot, 'app'),
      transport: 'local',
    });
    await setup.createEnvironment(em, SETUP, project, { name: 'staging', branch: 'main', servers: [server] });
    await setup.createEnvironment(em, SETUP, project, {
      name: 'production',
      tier: 'production',
      branch: 'main',
      servers: [server],
      approvalsRequired: 2,
    });
    await em.flush();
    // CI reports the fixture's commits green: the warn gates pass (the gate is tested elsewhere).
    await reportGreen(stack.slipway.services.statuses, 'app', repo.path);
    const grant = (p: TeamsPerson, role: 'viewer' | 'approver') =>
      access.assignRole(
        SETUP,
        'app',
        { platform: 'teams', workspace: TENANT, userId: p.aadObjectId, displayName: p.name },
        role,
      );
    await grant(DEV, 'approver');
    await grant(ALICE, 'approver');
    await grant(BOB, 'approver');
    await grant(VICTOR, 'viewer');
  });
  afterAll(async () => {
    await stack?.stop();
    await connector?.close();
    await identity?.close();
    await repo?.cleanup();
    if (deployRoot) await rm(deployRoot, { recursive: true, force: true });
    await database?.drop();
  });

  it('refuses a missing, forged, expired or wrong-audience token (and another tenant) with 401; nothing runs', async () => {
    const activity = personalMessage(where(), DEV, 'deploy app staging', 'a:1personal-Dev');
    const serviceUrl = activity.serviceUrl;
    const now = Math.floor(Date.now() / 1000);
    const forger = signingKey(identity.key.kid);
    const cases: [string, string | null][] = [
      ['missing', null],
      ['not a JWT', 'not-a-jwt'],
      ['forged (another key, same kid)', identity.sign({ serviceUrl }, forger)],
      ['unknown key', identity.sign({ serviceUrl }, signingKey())],
      ['expired', identity.sign({ serviceUrl, exp: now - 600, nbf: now - 4000 })],
      ['wrong audience', identity.sign({ serviceUrl, aud: '11111111-1111-4111-8111-111111111111' })],
      ['wrong issuer', identity.sign({ serviceUrl, iss: 'https://evil.example' })],
      ['another serviceUrl', identity.sign({ serviceUrl: 'https://smba.evil.example/' })],
    ];
    for (const [what, token] of cases) {
      const response = await send(activity, token);
      expect(response.status, what).toBe(401);
    }
    const otherTenant = personalMessage(
      { ...where(), tenantId: '99999999-9999-4999-8999-999999999999' },
      DEV,
      'deploy app staging',
      'a:1x',
    );
    expect((await send(otherTenant)).status).toBe(401);
    expect(await deployments()).toHaveLength(0);
    expect(connector.requests).toHaveLength(0);
  });

  it('deploys from a personal chat: acks at once, posts one card and updates it in place to finished', async () => {
    const started = performance.now();
    const response = await personal(DEV, 'deploy app staging');
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    const card = await posted('Deploy #1 · app → staging');
    expect(card.conversationId).toBe('a:1personal-Dev');
    expect(card.authorization).toMatch(/^Bearer bot-token-\d+$/);
    expect(identity.tokens[0]?.scope).toBe('https://api.botframework.com/.default');
    const content = cardOf(card.body);
    expect(content.version).toBe('1.5');
    const finished = await updated(card.id, 'Finished in');
    // The first deploy of staging: nothing was live before it, so there is no Rollback to offer.
    expect(actionsOf(cardOf(finished.body))).toEqual([]);
    const [row] = await deployments();
    expect(row?.status).toBe('finished');
    expect(
      connector.requests.filter((r) => r.kind === 'send' && r.conversationId === 'a:1personal-Dev'),
    ).toHaveLength(1);
  });

  it('approvals in a channel: Approve/Reject for approvers only, self and non-approver refused, a double click once, the card refreshed for everyone', async () => {
    const response = await send(channelMessage(inChannel(), DEV, 'deploy app production'));
    expect(response.status).toBe(200);
    const card = await posted('Deploy #2 · app → production');
    expect(card.conversationId).toMatch(/^19:deploys@thread\.tacv2;messageid=\d+$/);
    const base = cardOf(card.body);
    expect(cardText(card.body)).toContain('Waiting for approval: 0/2');
    // Everyone sees no decision buttons; the approvers (not the requester, not a viewer) get a
    // refreshed view of their own.
    expect(actionsOf(base)).toEqual([]);
    const refresh = base.refresh as {
      action: { verb: string; data: { deployment: string } };
      userIds: string[];
    };
    expect(refresh.action.verb).toBe('refresh');
    expect([...refresh.userIds].sort()).toEqual([ALICE.id, BOB.id].sort());
    const id = refresh.action.data.deployment;
    expect((await deployments()).find((d) => d.number === 2)?.status).toBe('awaiting_approval');

    const aliceView = await click(ALICE, card, 'refresh', { deployment: id }, 'automatic');
    expect(aliceView.body.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(actionsOf(aliceView.body.value as Record<string, unknown>)).toEqual(['approve', 'reject']);
    const victorView = await click(VICTOR, card, 'refresh', { deployment: id });
    expect(actionsOf(victorView.body.value as Record<string, unknown>)).toEqual([]);
    const forged = await click(VICTOR, { ...card, id: '999' }, 'refresh', { deployment: id });
    expect(forged.body.type).toBe('application/vnd.microsoft.activity.message');

    const self = await click(DEV, card, 'approve', { value: id });
    expect(self.body).toMatchObject({ type: 'application/vnd.microsoft.activity.message' });
    expect(String(self.body.value)).toContain('You asked for this deployment');
    const viewer = await click(VICTOR, card, 'approve', { value: id });
    expect(String(viewer.body.value)).toContain(
      'Only members with the approver role on app can approve or reject; you have the viewer role',
    );

    const first = await click(ALICE, card, 'approve', { value: id });
    expect(first.body.type).toBe('application/vnd.microsoft.card.adaptive');
    const firstCard = first.body.value as Record<string, unknown>;
    expect(JSON.stringify(firstCard)).toContain('Waiting for approval: 1/2');
    expect(JSON.stringify(firstCard)).toContain('Alice');
    expect(actionsOf(firstCard)).toEqual([]);
    // Everyone's card changes too, refreshed now for Bob alone.
    const once = await updated(card.id, 'Waiting for approval: 1/2');
    expect((cardOf(once.body).refresh as { userIds: string[] }).userIds).toEqual([BOB.id]);

    const again = await click(ALICE, card, 'approve', { value: id });
    expect(String(again.body.value)).toContain('You already approved');
    const rows = await database.query<{ n: number }>(
      'select count(*)::int as n from approvals a join approval_requests r on r.id = a.request_id where r.deployment_id = $1',
      [id],
    );
    expect(rows[0]?.n).toBe(1);

    const second = await click(BOB, card, 'approve', { value: id });
    expect(second.body.type).toBe('application/vnd.microsoft.card.adaptive');
    const done = await updated(card.id, 'Finished in');
    expect(cardText(done.body)).toContain('Alice, Bob');
    expect(cardOf(done.body).refresh).toBeUndefined();
    await waitForStatus(id, 'finished');

    // The transcript of this approved deploy, as the Bot Connector received it (for the record).
    const transcript = connector.requests
      .filter((r) => r.conversationId === card.conversationId && r.at >= card.at)
      .map((r) => ({
        kind: r.kind,
        method: r.method,
        activityId: r.activityId,
        ...(r.failed ? { failed: r.failed } : {}),
        text: cardText(r.body).match(
          /Waiting for approval: \d\/\d|Queued\.|Running[^"]*|Finished in [^"]*/,
        )?.[0],
        actions: actionsOf(cardOf(r.body)),
        refreshUserIds: (cardOf(r.body).refresh as { userIds?: string[] } | undefined)?.userIds,
      }));
    await mkdir('test-artifacts', { recursive: true });
    await writeFile('test-artifacts/teams-approved-deploy.json', `${JSON.stringify(transcript, null, 2)}\n`);
    expect(transcript[0]?.kind).toBe('send');
    expect(transcript.at(-1)?.text).toMatch(/^Finished in/);
  });

  it('one Reject ends the request: the card says who, and a late approval is refused', async () => {
    await send(channelMessage(inChannel(), DEV, 'deploy app production'));
    const card = await posted('Deploy #3 · app → production');
    const id = (cardOf(card.body).refresh as { action: { data: { deployment: string } } }).action.data
      .deployment;
    const rejected = await click(BOB, card, 'reject', { value: id });
    expect(JSON.stringify(rejected.body.value)).toContain('Rejected by Bob');
    const everyone = await updated(card.id, 'Rejected by Bob');
    expect(actionsOf(cardOf(everyone.body))).toEqual([]);
    expect(cardOf(everyone.body).refresh).toBeUndefined();
    await waitForStatus(id, 'rejected');
    const late = await click(ALICE, card, 'approve', { value: id });
    expect(String(late.body.value)).toContain('already rejected');
  });

  it('a click after expiry is refused, and the card is brought up to date without its buttons', async () => {
    await send(channelMessage(inChannel(), DEV, 'deploy app production'));
    const card = await posted('Deploy #4 · app → production');
    const id = (cardOf(card.body).refresh as { action: { data: { deployment: string } } }).action.data
      .deployment;
    await database.query(
      `update approval_requests set expires_at = now() - interval '1 minute' where deployment_id = $1`,
      [id],
    );
    const late = await click(ALICE, card, 'approve', { value: id });
    expect(String(late.body.value)).toContain('expired');
    await waitForStatus(id, 'expired');
    const expired = await updated(card.id, 'The approval request expired', 60_000);
    expect(actionsOf(cardOf(expired.body))).toEqual([]);
  });

  it('promotes from a group chat (the bot mention stripped) and asks for approval on the card', async () => {
    const response = await send(
      groupChatMessage(where(), DEV, 'promote app staging production confirm', '19:group-chat@thread.v2'),
    );
    expect(response.status).toBe(200);
    const card = await connector.waitFor((r) => r.conversationId === '19:group-chat@thread.v2');
    expect(cardText(card.body)).toContain('Promote #');
    expect(card.kind).toBe('send');
    expect(cardText(card.body)).toContain('app → production');
    expect(cardText(card.body)).toContain('Waiting for approval: 0/2');
    expect(cardText(card.body)).toContain('staging @');
  });

  it('members grant: a mention resolves to the person’s Entra object id; plain text is refused', async () => {
    const grant = channelMessage(inChannel(), ADMIN, 'members grant app <at>Carol</at> deployer', [CAROL]);
    expect((await send(grant)).status).toBe(200);
    const answer = await connector.waitFor(
      (r) => r.kind === 'send' && cardText(r.body).includes('is now deployer on app'),
    );
    expect(cardText(answer.body)).toContain('Carol is now deployer on app.');
    // Teams' mention carries the Teams user id only: the roster gave the object id.
    expect(connector.requests.some((r) => r.kind === 'member')).toBe(true);
    const roles = await database.query<{ role: string }>(
      `select pr.role from project_roles pr
         join chat_identities ci on ci.member_id = pr.member_id
        where ci.platform = 'teams' and ci.workspace = $1 and ci.user_id = $2`,
      [TENANT, CAROL.aadObjectId],
    );
    expect(roles).toEqual([{ role: 'deployer' }]);

    const plain = channelMessage(inChannel(), ADMIN, 'members grant app carol approver');
    await send(plain);
    const refused = await connector.waitFor(
      (r) => r.kind === 'reply' && r.activityId === plain.id && cardText(r.body).includes('is not a user'),
    );
    expect(cardText(refused.body)).toContain('mention them');
    const typed = channelMessage(inChannel(), ADMIN, 'members grant app @mention-forged approver');
    await send(typed);
    await connector.waitFor((r) => r.kind === 'reply' && r.activityId === typed.id);
    expect(
      await database.query(
        `select 1 from project_roles where role = 'approver' and member_id in (select member_id from chat_identities where user_id = $1)`,
        [CAROL.aadObjectId],
      ),
    ).toHaveLength(0);
  });

  it('a retried activity (Teams retries after 15 s) runs once', async () => {
    const before = (await deployments()).length;
    const activity = personalMessage(where(), ALICE, 'deploy app staging', 'a:1personal-Alice');
    const [first, retry] = await Promise.all([send(activity), send(activity)]);
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect((await send(activity)).status).toBe(200);
    const card = await posted(`Deploy #${before + 1} · app → staging`);
    await updated(card.id, 'Finished in');
    expect(await deployments()).toHaveLength(before + 1);
    expect(
      connector.requests.filter((r) => r.kind === 'send' && r.conversationId === 'a:1personal-Alice'),
    ).toHaveLength(1);
  });

  it('retries the Bot Connector’s 429s (with and without Retry-After) and 5xx with back-off', async () => {
    connector.fail('send', 429, 1);
    connector.fail('update', 429, 1, '1');
    connector.fail('update', 503, 1);
    const before = (await deployments()).length;
    await personal(BOB, 'deploy app staging');
    const card = await posted(`Deploy #${before + 1} · app → staging`);
    const sends = connector.requests.filter(
      (r) => r.kind === 'send' && r.conversationId === 'a:1personal-Bob',
    );
    expect(sends.map((r) => r.failed ?? 200)).toEqual([429, 200]);
    await updated(card.id, 'Finished in');
    const updates = connector.requests.filter((r) => r.kind === 'update' && r.activityId === card.id);
    expect(updates.slice(0, 3).map((r) => r.failed ?? 200)).toEqual([429, 503, 200]);
    // The Retry-After of the first 429 was waited for.
    expect((updates[1]?.at ?? 0) - (updates[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('with the Bot Connector unreachable, a message is acked and a click answered at once, and nothing crashes', async () => {
    // A card in a reachable conversation to click on, then every activity from a Connector that is down.
    const since = Date.now();
    await send(channelMessage(inChannel(), DEV, 'deploy app production'));
    const card = await connector.waitFor(
      (r) =>
        r.kind === 'send' &&
        r.at >= since &&
        r.conversationId.startsWith(CHANNEL) &&
        cardText(r.body).includes('Waiting for approval: 0/2'),
    );
    const id = (cardOf(card.body).refresh as { action: { data: { deployment: string } } }).action.data
      .deployment;
    const down = await startBotConnector();
    const deadUrl = down.serviceUrl;
    await down.close();
    const nowhere = { serviceUrl: deadUrl, tenantId: TENANT, botId: BOT };

    const before = (await deployments()).length;
    const started = performance.now();
    const message = await send(personalMessage(nowhere, BOB, 'deploy app staging', 'a:1personal-Bob-down'));
    expect(message.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    // The command ran; only its card could not be posted (retried in the background).
    const rows = await (async () => {
      for (let i = 0; i < 100; i++) {
        const all = await deployments();
        if (all.length > before) return all;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return deployments();
    })();
    expect(rows.length).toBe(before + 1);

    const invoke = cardAction(
      { ...nowhere, conversationId: card.conversationId, conversationType: 'channel', teamId: TEAM },
      ALICE,
      { verb: 'approve', data: { value: id } },
      card.id ?? '',
    );
    const clickStarted = performance.now();
    const answer = await send(invoke);
    const clickMs = performance.now() - clickStarted;
    expect(answer.status).toBe(200);
    expect(clickMs).toBeLessThan(1000);
    const body = (await answer.json()) as Invoke;
    expect(body.type, JSON.stringify(body.value)).toBe('application/vnd.microsoft.card.adaptive');
    expect(JSON.stringify(body.value)).toContain('Waiting for approval: 1/2');
    // Still serving.
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    expect((await personal(DEV, 'help')).status).toBe(200);
    // Close the request: Bob rejects from the reachable conversation.
    await click(BOB, card, 'reject', { value: id });
    await waitForStatus(id, 'rejected');
  });

  it('keeps a card current after a restart, through the reference stored with it', async () => {
    const since = Date.now();
    await send(channelMessage(inChannel(), DEV, 'deploy app production'));
    const card = await connector.waitFor(
      (r) =>
        r.kind === 'send' &&
        r.at >= since &&
        r.conversationId.startsWith(CHANNEL) &&
        cardText(r.body).includes('Waiting for approval: 0/2'),
    );
    const id = (cardOf(card.body).refresh as { action: { data: { deployment: string } } }).action.data
      .deployment;
    let stored: { reference: Record<string, string> } | undefined;
    for (let i = 0; i < 100 && !stored; i++) {
      [stored] = await database.query<{ reference: Record<string, string> }>(
        `select reference from deployment_messages where deployment_id = $1 and platform = 'teams'`,
        [id],
      );
      if (!stored) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stored?.reference).toMatchObject({
      serviceUrl: connector.serviceUrl,
      conversationId: card.conversationId,
      tenantId: TENANT,
      teamId: TEAM,
    });
    await stack.stop();
    await startStack();
    const restarted = Date.now();
    // Approved by typing, from personal chats, in the new process: the channel's card follows.
    const [row] = await database.query<{ number: number }>('select number from deployments where id = $1', [
      id,
    ]);
    await personal(ALICE, `approve ${row?.number}`);
    const aliceCard = await connector.waitFor(
      (r) => r.kind === 'send' && r.conversationId === 'a:1personal-Alice' && r.at > restarted,
    );
    expect(cardText(aliceCard.body)).toContain('Waiting for approval: 1/2');
    await personal(BOB, `approve ${row?.number}`);
    const bobCard = await connector.waitFor(
      (r) => r.kind === 'send' && r.conversationId === 'a:1personal-Bob' && r.at > restarted,
    );
    expect(cardText(bobCard.body)).toContain('Queued');
    const done = await updated(card.id, 'Finished in');
    expect(done.conversationId).toBe(card.conversationId);
    expect(cardText(done.body)).toContain('Alice, Bob');
  });

  it('sends notices to a Teams channel through the bot, one post edited in place', async () => {
    await stack.slipway.services.channels.create(SETUP, 'app', {
      type: 'teams',
      name: 'teams-bot',
      channel: '19:notices@thread.tacv2',
    });
    await personal(DEV, 'deploy app staging');
    const first = await connector.waitFor(
      (r) => r.kind === 'send' && r.conversationId === '19:notices@thread.tacv2' && !r.failed,
    );
    expect(first.authorization).toMatch(/^Bearer bot-token-/);
    const edited = await connector.waitFor(
      (r) =>
        r.kind === 'update' && r.conversationId === '19:notices@thread.tacv2' && r.activityId === first.id,
    );
    expect(cardOf(edited.body).version).toBe('1.5');
    await expect(
      stack.slipway.services.channels.create(SETUP, 'app', {
        type: 'teams',
        name: 'bad',
        channel: 'general',
      }),
    ).rejects.toThrow(/Teams channel id/);
  });

  it('shows the bot’s standing in /readyz: up with good credentials, down with the cause with bad ones', async () => {
    const ready = (await (await fetch(`${stack.url}/readyz`)).json()) as {
      adapters: Record<string, { status: string }>;
    };
    expect(ready.adapters.teams?.status).toBe('up');
    const { TeamsChatAdapter } = await import('../../adapters/teams/app.js');
    const { createLogger } = await import('../../src/logger.js');
    const bad = new TeamsChatAdapter(
      {
        appId: APP_ID,
        appPassword: 'not-the-secret',
        tenantId: TENANT,
        appType: 'SingleTenant',
        openIdMetadataUrl: identity.env.TEAMS_OPENID_METADATA_URL,
        tokenUrl: identity.env.TEAMS_TOKEN_URL,
      },
      createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
    );
    await bad.start();
    for (let i = 0; i < 50 && bad.health().status === 'starting'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(bad.health()).toMatchObject({ status: 'down' });
    expect(bad.health().detail).toContain('invalid_client');
    expect(bad.health().detail).not.toContain('not-the-secret');
    await bad.stop();
  });

  it('acks a message before the replay ledger answers, runs it once the ledger is free, and says so when the ledger is gone', async () => {
    const statusCards = () =>
      connector.requests.filter(
        (r) => r.kind === 'send' && !r.failed && cardText(r.body).includes('Status of app'),
      ).length;
    const before = statusCards();
    // Another session holds the ledger table: every insert into it waits.
    const ledger = await holdLock(database, 'lock table inbound_requests in exclusive mode');
    try {
      const started = performance.now();
      expect((await personal(DEV, 'status app')).status).toBe(200);
      expect(performance.now() - started).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(statusCards()).toBe(before);
    } finally {
      await ledger.release();
    }
    await posted('Status of app');
    expect(statusCards()).toBe(before + 1);

    // The ledger is gone (its table renamed for a moment): nothing runs, and the person is told.
    await database.query('alter table inbound_requests rename to inbound_requests_away');
    try {
      expect((await personal(DEV, 'status app')).status).toBe(200);
      await connector.waitFor((r) => !r.failed && cardText(r.body).includes('could not record this request'));
    } finally {
      await database.query('alter table inbound_requests_away rename to inbound_requests');
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statusCards()).toBe(before + 1);
  });
});
