import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/vocabulary.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { startChatSlipway, trustRepository } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  type DiscordFake,
  type DiscordUser,
  type FakeMessage,
  type RecordedRest,
  shownText,
  startDiscordFake,
} from '../support/discord-fake.js';
import {
  autocomplete,
  buttonClick,
  buttonIds,
  CHANNEL_ID,
  discordUser,
  GUILD_ID,
  ping,
  slashCommand,
  stringOptions,
} from '../support/discord-interactions.js';

const USERS = {
  dev: discordUser('1160000000000000011', 'dev'),
  alice: discordUser('1160000000000000012', 'alice'),
  bob: discordUser('1160000000000000013', 'bob'),
  victor: discordUser('1160000000000000014', 'victor'),
  root: discordUser('1160000000000000015', 'root'),
  carol: discordUser('1160000000000000016', 'carol'),
  stranger: discordUser('1160000000000000017', 'stranger'),
};
const EPHEMERAL = 64;

/**
 * Discord end to end: real-format interactions (PING, APPLICATION_COMMAND, MESSAGE_COMPONENT,
 * APPLICATION_COMMAND_AUTOCOMPLETE) signed with a throwaway Ed25519 key and posted over HTTP to
 * the running Slipway's /discord/interactions; Slipway's discord.js REST client sends its
 * edits, follow-ups and bot calls to a local stand-in that answers as Discord does (and
 * refuses what Discord refuses); deployments run on real OpenSSH.
 */
describe.skipIf(skipSshSuites)('Discord adapter end to end', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let discord: DiscordFake;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;

  const app = () => discord.applicationId;
  const slash = (user: DiscordUser, name: string, options: Record<string, string> = {}) =>
    discord.interact(stack.url, slashCommand(app(), user, name, stringOptions(options)));
  const click = (user: DiscordUser, message: FakeMessage | undefined, customId: string) => {
    if (!message) throw new Error('no message to click on');
    return discord.interact(stack.url, buttonClick(app(), user, message, customId));
  };
  /** Waits until the message shows `text` (however it was edited), and returns it. */
  const shows = async (message: () => FakeMessage | undefined, text: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = message();
      if (current && !current.loading && shownText(current.embeds).includes(text)) return current;
      if (Date.now() > deadline) {
        throw new Error(`message never showed "${text}": ${shownText(current?.embeds)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  /** The ephemeral follow-up (or edited deferral) sent with this interaction's token. */
  const privately = (token: string) =>
    discord.waitFor(
      (r) => r.path === `/webhooks/${app()}/${token}` && r.method === 'POST' && r.status === 200,
      30_000,
    );
  const webhookCalls = (token: string) =>
    discord.requests.filter((r) => r.path.startsWith(`/webhooks/${app()}/${token}`));
  const deployment = async (number: number) =>
    (await stack.deployments('app')).find((d) => d.number === number);

  async function grant(user: DiscordUser, role: Role, project = 'app') {
    const { access } = stack.slipway.services;
    const admin = await access.resolve({
      platform: 'discord',
      workspace: GUILD_ID,
      userId: USERS.root.id,
      displayName: USERS.root.global_name,
    });
    await access.grant(
      admin,
      project,
      { platform: 'discord', workspace: GUILD_ID, userId: user.id, displayName: user.global_name },
      role,
    );
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(1);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustRepository(repo.path);
    discord = await startDiscordFake();
    stack = await startChatSlipway(database, {
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_PUBLIC_KEY: discord.publicKeyHex,
      DISCORD_BOT_TOKEN: discord.botToken,
      DISCORD_API_URL: discord.apiUrl,
      SLIPWAY_ADMINS: `discord:${GUILD_ID}:${USERS.root.id}`,
    });
    await stack.project(hosts, repo.path, {
      name: 'app',
      environments: [
        { name: 'staging', tier: 'staging' },
        { name: 'production', tier: 'production', approvals: 2 },
      ],
    });
    await grant(USERS.dev, 'approver');
    await grant(USERS.alice, 'approver');
    await grant(USERS.bob, 'approver');
    await grant(USERS.victor, 'viewer');
  });
  afterAll(async () => {
    await stack?.stop();
    await discord?.close();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  it('checks the bot identity at start, off the request path', async () => {
    await discord.waitFor((r) => r.method === 'GET' && r.path === '/applications/@me');
    const ready = (await (await fetch(`${stack.url}/readyz`)).json()) as {
      adapters: Record<string, { status: string; detail: string }>;
    };
    expect(ready.adapters.discord).toMatchObject({ status: 'up', detail: 'application Slipway' });
  });

  it('refuses a missing, bad, foreign-key, stale or tampered signature with 401, and nothing runs', async () => {
    discord.clear();
    const body = slashCommand(app(), USERS.dev, 'deploy', stringOptions({ project: 'app', env: 'staging' }));
    const { generateKeyPairSync } = await import('node:crypto');
    const attempts = [
      await discord.interact(stack.url, body, { signature: null }),
      await discord.interact(stack.url, body, { signature: '0'.repeat(128) }),
      await discord.interact(stack.url, body, { key: generateKeyPairSync('ed25519').privateKey }),
      await discord.interact(stack.url, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }),
      await discord.interact(stack.url, body, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 }),
    ];
    expect(attempts.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    // Signed, then changed on the way.
    const timestamp = String(Math.floor(Date.now() / 1000));
    const { sign } = await import('node:crypto');
    const signed = JSON.stringify(body);
    const tampered = await fetch(`${stack.url}/discord/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-signature-timestamp': timestamp,
        'x-signature-ed25519': sign(null, Buffer.from(timestamp + signed), discord.privateKey).toString(
          'hex',
        ),
      },
      body: signed.replace('"staging"', '"production"'),
    });
    expect(tampered.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stack.deployments('app')).toHaveLength(0);
    expect(discord.requests).toHaveLength(0);
  });

  it('answers PING with PONG', async () => {
    const pong = await discord.interact(stack.url, ping(app()));
    expect(pong.status).toBe(200);
    expect(pong.body).toEqual({ type: 1 });
  });

  it('answers mistakes and help inside the interaction response, privately, with the usage line', async () => {
    discord.clear();
    const mistake = await slash(USERS.dev, 'slipway', { text: 'deploy app' });
    expect(mistake.body?.type).toBe(4);
    expect(mistake.body?.data?.flags).toBe(EPHEMERAL);
    expect(shownText(mistake.body)).toContain('<env> is missing');
    expect(shownText(mistake.body)).toContain('Usage: /deploy <project> <env> [ref]');

    const help = await slash(USERS.dev, 'help');
    expect(help.body?.type).toBe(4);
    expect(help.body?.data?.flags).toBe(EPHEMERAL);
    expect(shownText(help.body)).toContain('Slipway commands');
    expect(shownText(help.body)).toContain('/promote <project> <from-env> <to-env> [confirm|force [reason]]');
    expect(discord.requests).toHaveLength(0);
    expect(await stack.deployments('app')).toHaveLength(0);
  });

  it('/deploy: deferred at once, then the original response is edited in place to finished', async () => {
    discord.clear();
    const deploy = await slash(USERS.dev, 'deploy', { env: 'staging', project: 'app' });
    expect(deploy.status).toBe(200);
    expect(deploy.body).toEqual({ type: 5 });
    expect(deploy.ms).toBeLessThan(1000);
    const card = await shows(deploy.original, 'Finished in');
    expect(shownText(card.embeds)).toContain('Deploy #1 · app → staging');
    // The first deploy of staging: nothing was live before it, so there is no Rollback to offer.
    expect(buttonIds(card)).toEqual([]);
    expect((await deployment(1))?.status).toBe('finished');
    // One message, edited through the interaction's webhook (no bot needed while the token lives).
    const edits = discord.requests.filter((r) => r.method === 'PATCH');
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.every((r) => r.path.endsWith('/messages/@original') && r.status === 200)).toBe(true);
    expect(edits.every((r) => r.headers.authorization === undefined)).toBe(true);
    expect(edits.every((r) => JSON.stringify(r.body?.allowed_mentions) === '{"parse":[]}')).toBe(true);
    expect(shownText(edits.map((r) => r.body))).toContain('Queued.');
    expect(discord.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('approvals with two approvers: self and non-approver refused, a double click counted once, then it runs', async () => {
    discord.clear();
    const request = slashCommand(
      app(),
      USERS.dev,
      'deploy',
      stringOptions({ project: 'app', env: 'production' }),
    );
    const deploy = await discord.interact(stack.url, request);
    expect(deploy.body).toEqual({ type: 5 });
    const card = await shows(deploy.original, 'Waiting for approval: 0/2');
    const waiting = await deployment(2);
    expect(waiting?.status).toBe('awaiting_approval');
    const id = waiting?.id ?? '';
    expect(buttonIds(card)).toEqual([`approve:${id}`, `reject:${id}`]);

    const self = await click(USERS.dev, card, `approve:${id}`);
    expect(self.body).toEqual({ type: 6 });
    const selfReply = await privately(self.token);
    expect(selfReply.body?.flags).toBe(EPHEMERAL);
    expect(shownText(selfReply.body)).toContain('You asked for this deployment');

    const viewer = await click(USERS.victor, card, `approve:${id}`);
    expect(shownText((await privately(viewer.token)).body)).toContain(
      'Only members with the approver role on app can approve or reject; you have the viewer role',
    );

    const first = await click(USERS.alice, card, `approve:${id}`);
    expect(first.body).toEqual({ type: 6 });
    const once = await shows(() => discord.message(card.id), 'Waiting for approval: 1/2');
    expect(shownText(once.embeds)).toContain('Alice');
    // The click's own token edited the card (its @original is the message the button is on).
    expect(webhookCalls(first.token).some((r) => r.method === 'PATCH' && r.path.endsWith('/@original'))).toBe(
      true,
    );

    const again = await click(USERS.alice, card, `approve:${id}`);
    expect(shownText((await privately(again.token)).body)).toContain('You already approved');
    const rows = await database.query<{ n: number }>(
      'select count(*)::int as n from approvals a join approval_requests r on r.id = a.request_id where r.deployment_id = $1',
      [id],
    );
    expect(rows[0]?.n).toBe(1);

    // A second's install, so the card shows the run between queued and finished.
    await database.query(`update projects set install_command = 'sleep 1' where name = 'app'`);
    try {
      const last = await click(USERS.bob, card, `approve:${id}`);
      const done = await shows(() => discord.message(card.id), 'Finished in');
      expect(shownText(done.embeds)).toContain('Alice, Bob');
      expect((await stack.waitFor(id, (d) => d.status === 'finished')).status).toBe('finished');
      const shown = webhookCalls(last.token).map((r) => shownText(r.body));
      expect(shown.findIndex((text) => text.includes('Queued.'))).toBeGreaterThanOrEqual(0);
      expect(shown.some((text) => /Running: web-1: step \d+\/\d+/.test(text))).toBe(true);
      expect(shown.findIndex((text) => text.includes('Queued.'))).toBeLessThan(
        shown.findIndex((text) => text.includes('Running')),
      );
    } finally {
      await database.query(`update projects set install_command = null where name = 'app'`);
    }
    if (process.env.DISCORD_TRANSCRIPT) {
      await writeFile(process.env.DISCORD_TRANSCRIPT, `${JSON.stringify(discord.transcript, null, 2)}\n`);
    }
  });

  it('one Reject ends the request, the card says who, and a later Approve changes nothing', async () => {
    discord.clear();
    const deploy = await slash(USERS.dev, 'deploy', { project: 'app', env: 'production' });
    const card = await shows(deploy.original, 'Deploy #3 · app → production');
    const id = (await deployment(3))?.id ?? '';
    await click(USERS.bob, card, `reject:${id}`);
    const rejected = await shows(() => discord.message(card.id), 'Rejected by Bob');
    expect(buttonIds(rejected)).toEqual([]);
    expect((await stack.waitFor(id, (d) => d.status === 'rejected')).status).toBe('rejected');
    const late = await click(USERS.alice, card, `approve:${id}`);
    expect(shownText((await privately(late.token)).body)).toContain('already rejected');
  });

  it('a click after expiry is refused, and the expired card is updated', async () => {
    discord.clear();
    const deploy = await slash(USERS.dev, 'deploy', { project: 'app', env: 'production' });
    const card = await shows(deploy.original, 'Deploy #4 · app → production');
    const id = (await deployment(4))?.id ?? '';
    await database.query(
      `update approval_requests set expires_at = now() - interval '1 minute' where deployment_id = $1`,
      [id],
    );
    const late = await click(USERS.alice, card, `approve:${id}`);
    expect(shownText((await privately(late.token)).body)).toContain('expired');
    expect((await stack.waitFor(id, (d) => d.status === 'expired')).status).toBe('expired');
    stack.slipway.chat.notifier.notify(id);
    await shows(() => discord.message(card.id), 'approval request expired');
  });

  it('a replayed interaction runs nothing: not a second deploy, not a second approval', async () => {
    discord.clear();
    const timestamp = Math.floor(Date.now() / 1000);
    const request = slashCommand(
      app(),
      USERS.dev,
      'deploy',
      stringOptions({ project: 'app', env: 'production' }),
    );
    const deploy = await discord.interact(stack.url, request, { timestamp });
    const card = await shows(deploy.original, 'Deploy #5 · app → production');
    const again = await discord.interact(stack.url, request, { timestamp });
    expect(again.status).toBe(200);
    const id = (await deployment(5))?.id ?? '';
    const approve = buttonClick(app(), USERS.alice, card, `approve:${id}`);
    await discord.interact(stack.url, approve, { timestamp });
    await shows(() => discord.message(card.id), 'Waiting for approval: 1/2');
    await stack.slipway.chat.notifier.settled(id);
    const calls = discord.requests.length;
    await discord.interact(stack.url, approve, { timestamp });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await stack.slipway.chat.notifier.settled(id);
    expect((await stack.deployments('app')).filter((d) => d.number > 5)).toHaveLength(0);
    const rows = await database.query<{ n: number }>(
      'select count(*)::int as n from approvals a join approval_requests r on r.id = a.request_id where r.deployment_id = $1',
      [id],
    );
    expect(rows[0]?.n).toBe(1);
    // Nothing went to Discord for the replay. (An earlier test's card may still get its last
    // edit meanwhile: that one is about another deployment.)
    const forThisOne = discord.requests
      .slice(calls)
      .filter((r) => !/Deploy #[1-4] /.test(JSON.stringify(r.body)));
    expect(forThisOne).toEqual([]);
    await slash(USERS.dev, 'cancel', { deployment: '5' });
    await shows(() => discord.message(card.id), 'Cancelled by Dev');
  });

  it('a locked environment refuses others privately, with the holder, since when and why', async () => {
    discord.clear();
    const lock = await slash(USERS.alice, 'lock', {
      project: 'app',
      env: 'staging',
      for: '2h',
      reason: 'db migration',
    });
    const locked = await shows(lock.original, 'app/staging locked');
    expect(shownText(locked.embeds)).toContain('Locked by Alice: db migration, until');
    const unlock = async () => {
      const unlocked = await slash(USERS.root, 'unlock', { project: 'app', env: 'staging' });
      return shows(unlocked.original, 'app/staging unlocked');
    };
    try {
      const refused = await slash(USERS.dev, 'deploy', { project: 'app', env: 'staging' });
      expect(refused.body).toEqual({ type: 5 });
      const reply = await privately(refused.token);
      expect(reply.body?.flags).toBe(EPHEMERAL);
      expect(shownText(reply.body)).toMatch(
        /staging is locked by Alice since \d{4}-\d\d-\d\d \d\d:\d\d UTC: db migration/,
      );
      // The public "thinking…" was deleted first, so the refusal is not shown to the channel.
      expect(webhookCalls(refused.token).map((r) => `${r.method} ${r.status}`)).toEqual([
        'DELETE 204',
        'POST 200',
      ]);
      expect(refused.original()?.deleted).toBe(true);
      expect((reply.response as { flags: number }).flags).toBe(EPHEMERAL);
    } finally {
      expect(shownText((await unlock()).embeds)).toContain("Root broke Alice's lock (db migration)");
    }
  });

  it('autocompletes projects and environments from the database, limited to what the user may view', async () => {
    await stack.slipway.services.setup.createProject(
      stack.em(),
      { memberId: null, name: 'setup', source: 'test' },
      {
        name: 'hidden-api',
        repository: 'https://example.invalid/hidden.git',
      },
    );
    const choices = async (
      user: DiscordUser,
      command: string,
      filled: Record<string, string>,
      focused: { name: string; value: string },
      sub?: string,
    ) => {
      const answer = await discord.interact(
        stack.url,
        autocomplete(app(), user, command, filled, focused, sub),
      );
      expect(answer.body?.type).toBe(8);
      return ((answer.body?.data?.choices ?? []) as { name: string; value: string }[]).map((c) => c.value);
    };
    expect(await choices(USERS.dev, 'deploy', {}, { name: 'project', value: 'ap' })).toEqual(['app']);
    expect(await choices(USERS.dev, 'deploy', {}, { name: 'project', value: '' })).toEqual(['app']);
    expect(await choices(USERS.root, 'deploy', {}, { name: 'project', value: 'ap' })).toEqual([
      'app',
      'hidden-api',
    ]);
    expect(await choices(USERS.stranger, 'deploy', {}, { name: 'project', value: '' })).toEqual([]);
    expect(await choices(USERS.dev, 'deploy', { project: 'app' }, { name: 'env', value: '' })).toEqual([
      'production',
      'staging',
    ]);
    expect(await choices(USERS.dev, 'promote', { project: 'app' }, { name: 'to-env', value: 'PRO' })).toEqual(
      ['production'],
    );
    expect(
      await choices(USERS.victor, 'env', { project: 'app' }, { name: 'env', value: 'ing' }, 'show'),
    ).toEqual(['staging']);
    expect(await choices(USERS.stranger, 'deploy', { project: 'app' }, { name: 'env', value: '' })).toEqual(
      [],
    );
    expect(await choices(USERS.dev, 'deploy', { project: 'app' }, { name: 'ref', value: 'm' })).toEqual([]);
  });

  it('members grant takes a Discord user option and refuses a name it cannot resolve', async () => {
    discord.clear();
    const grant = await discord.interact(
      stack.url,
      slashCommand(
        app(),
        USERS.root,
        'members',
        [
          {
            name: 'grant',
            type: 1,
            options: [
              { name: 'role', type: 3, value: 'deployer' },
              { name: 'user', type: 6, value: USERS.carol.id },
              { name: 'project', type: 3, value: 'app' },
            ],
          },
        ],
        [USERS.carol],
      ),
    );
    expect(grant.body).toEqual({ type: 5 });
    await shows(grant.original, 'Carol is now deployer on app');
    const plain = await slash(USERS.root, 'slipway', { text: 'members grant app @carol approver' });
    expect(shownText((await privately(plain.token)).body)).toContain('@carol\\" is not a user: mention them');
    const rows = await database.query<{ role: string }>(
      `select pr.role from project_roles pr join chat_identities c on c.member_id = pr.member_id
       where c.platform = 'discord' and c.workspace = $1 and c.user_id = $2`,
      [GUILD_ID, USERS.carol.id],
    );
    expect(rows).toEqual([{ role: 'deployer' }]);
  });

  it("honours Discord's 429 retry_after, per route and global", async () => {
    discord.clear();
    discord.rateLimitNext((method, path) => method === 'PATCH' && path.endsWith('/messages/@original'), 1);
    const status = await slash(USERS.victor, 'status', { project: 'app' });
    await shows(status.original, 'Status of app');
    const [limited, retried] = webhookCalls(status.token);
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    expect((retried?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1000);

    discord.clear();
    discord.rateLimitNext((method) => method === 'PATCH', 1, true);
    const first = await slash(USERS.victor, 'status', { project: 'app' });
    const global = await discord.waitFor((r) => r.status === 429);
    const second = await slash(USERS.victor, 'deploys', { project: 'app', env: 'staging' });
    await shows(first.original, 'Status of app');
    await shows(second.original, 'Deployments of app/staging');
    const after = discord.requests.filter((r) => r.at > global.at);
    expect(after.length).toBeGreaterThanOrEqual(2);
    // While the global limit lasts, the client sends nothing on any route.
    expect(Math.min(...after.map((r) => r.at)) - global.at).toBeGreaterThanOrEqual(950);
  });

  it('a run that outlives its interaction token keeps updating through the bot', async () => {
    discord.clear();
    // Discord refuses an interaction token after 15 minutes with 401 50027; the stand-in does it
    // right after the token's first edit, so the rest of the run happens "after minute 15".
    discord.expireTokensAfterFirstEdit();
    try {
      const deploy = await slash(USERS.dev, 'deploy', { project: 'app', env: 'staging' });
      const card = await shows(deploy.original, 'Finished in');
      const message = card.id;
      const viaToken = webhookCalls(deploy.token).filter((r) => r.method === 'PATCH');
      expect(viaToken[0]?.status).toBe(200);
      expect(viaToken[1]?.status).toBe(401);
      expect(viaToken[1]?.response).toMatchObject({ code: 50027, message: 'Invalid Webhook Token' });
      // Refused once, never tried again: every later edit went through the bot's channel route.
      expect(viaToken).toHaveLength(2);
      const viaBot = discord.requests.filter(
        (r: RecordedRest) => r.method === 'PATCH' && r.path === `/channels/${CHANNEL_ID}/messages/${message}`,
      );
      expect(viaBot.length).toBeGreaterThanOrEqual(1);
      expect(
        viaBot.every((r) => r.headers.authorization === `Bot ${discord.botToken}` && r.status === 200),
      ).toBe(true);
      expect(shownText(viaBot.at(-1)?.body)).toContain('Finished in');
      expect(JSON.stringify(viaBot.at(-1)?.body?.allowed_mentions)).toBe('{"parse":[]}');
    } finally {
      discord.expireTokensAfterFirstEdit(false);
    }
  });

  it('@everyone, role pings and masked links in a reason and in a log tail arrive escaped, with no mentions allowed', async () => {
    discord.clear();
    const lock = await slash(USERS.alice, 'lock', {
      project: 'app',
      env: 'staging',
      reason: '@everyone see [the fix](https://evil.example/login) <@&1170000000000000099>',
    });
    const locked = await shows(lock.original, 'app/staging locked');
    const text = String((locked.embeds[0] as { description: string }).description);
    expect(text).toContain(
      '@\u200beveryone see \\[the fix](https://evil.example/login) <\u200b@&1170000000000000099>',
    );
    expect(text).not.toMatch(/(^|[^\\])\[the fix\]\(/);
    const unlocked = await slash(USERS.alice, 'unlock', { project: 'app', env: 'staging' });
    await shows(unlocked.original, 'app/staging unlocked');

    await database.query(`update projects set install_command = $1 where name = 'app'`, [
      `echo '@here deploy broke: [details](https://evil.example/x) <@${USERS.root.id}>'; exit 3`,
    ]);
    try {
      const deploy = await slash(USERS.dev, 'deploy', { project: 'app', env: 'staging' });
      const failed = await shows(deploy.original, 'Failed at step');
      const description = String((failed.embeds[0] as { description: string }).description);
      const fence = description.indexOf('```');
      expect(fence).toBeGreaterThan(0);
      const code = description.slice(fence);
      expect(code).toContain(
        `@\u200bhere deploy broke: [details](https://evil.example/x) <\u200b@${USERS.root.id}>`,
      );
      expect(code.endsWith('```')).toBe(true);
      expect(description.slice(0, fence)).not.toContain('evil.example');
      const edits = discord.requests.filter((r) => r.method === 'PATCH' && r.status === 200);
      expect(edits.every((r) => JSON.stringify(r.body?.allowed_mentions) === '{"parse":[]}')).toBe(true);
    } finally {
      await database.query(`update projects set install_command = null where name = 'app'`);
    }
  });
  it('a button that must be confirmed asks privately first, then runs once, as a new message', async () => {
    discord.clear();
    const before = (await stack.deployments('app')).filter((d) => d.kind === 'rollback').length;
    const card = [...discord.messages.values()].find(
      (m) => !m.deleted && buttonIds(m).includes('?rollback:app staging'),
    );
    const ask = await click(USERS.dev, card, '?rollback:app staging');
    expect(ask.body?.type).toBe(4);
    expect(ask.body?.data?.flags).toBe(EPHEMERAL);
    expect(shownText(ask.body)).toContain('Are you sure? This runs /rollback app staging.');
    const prompt = ask.original();
    expect(buttonIds(prompt)).toEqual(['rollback:app staging']);
    expect(discord.requests).toHaveLength(0);

    const confirmed = await click(USERS.dev, prompt, 'rollback:app staging');
    // The prompt is replaced in the same response and loses its button: it cannot run twice.
    expect(confirmed.body?.type).toBe(7);
    expect(confirmed.body?.data?.components).toEqual([]);
    expect(shownText(confirmed.body)).toContain('Confirmed: /rollback app staging');
    expect(buttonIds(discord.message(prompt?.id))).toEqual([]);
    const followUp = await discord.waitFor(
      (r) => r.method === 'POST' && r.path === `/webhooks/${app()}/${confirmed.token}` && r.status === 200,
    );
    expect(followUp.body?.flags).toBeUndefined();
    const posted = (followUp.response as { id: string }).id;
    const done = await shows(() => discord.message(posted), 'Finished in');
    expect(shownText(done.embeds)).toContain('Rollback #');
    expect((await stack.deployments('app')).filter((d) => d.kind === 'rollback')).toHaveLength(before + 1);
  });
});
