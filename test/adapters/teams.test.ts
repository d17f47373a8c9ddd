import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/access/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { startChatSlipway } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  type BotConnector,
  type BotFrameworkIdentity,
  type ConnectorRequest,
  cardAction,
  cardOf,
  cardText,
  channelMessage,
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
    };
    const { access, setup } = await startStack();
    const em = stack.em();
    const project = await setup.createProject(em, SETUP, {
      name: 'app',
      repository: repo.path,
      releasesToKeep: 3,
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
    expect(actionsOf(cardOf(finished.body))).toEqual(['rollback']);
    const [row] = await deployments();
    expect(row?.status).toBe('finished');
    expect(
      connector.requests.filter((r) => r.kind === 'send' && r.conversationId === 'a:1personal-Dev'),
    ).toHaveLength(1);
  });
});
