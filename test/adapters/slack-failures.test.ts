import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { startChatSlipway, trustRepository } from '../support/chat-stack.js';
import { createTestDatabase, holdLock, type TestDatabase } from '../support/database.js';
import { runSlipway } from '../support/service-process.js';
import {
  messageText,
  postSigned,
  type SlackFake,
  slashCommandBody,
  startSlackFake,
  startUnansweringServer,
} from '../support/slack-fake.js';

const SECRET = 'slack-signing-secret-for-failures';
const DEV = { userId: 'UDEV', userName: 'dev' };

/**
 * Slack when things go wrong (issue 14, items 7–10): a replayed or retried request, a bot that
 * is not in the channel, a mention that is no mention, help that lists what Slack has.
 */
describe.skipIf(skipSshSuites)('Slack when the platform or the request is not what it should be', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let slack: SlackFake;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  let responses = 0;

  const body = (text: string, options: { command?: string; channelId?: string; user?: typeof DEV } = {}) => {
    const responseUrl = `${slack.url}/respond/${++responses}`;
    const user = options.user ?? DEV;
    return {
      responseUrl,
      raw: slashCommandBody({
        command: options.command ?? '/slipway',
        text,
        userId: user.userId,
        userName: user.userName,
        responseUrl,
        triggerId: `trigger-${responses}`,
        ...(options.channelId ? { channelId: options.channelId } : {}),
      }),
    };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(1);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustRepository(repo.path);
    slack = await startSlackFake({ refuseChannels: { CPRIVATE: 'not_in_channel' } });
    stack = await startChatSlipway(database, {
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLIPWAY_ADMINS: 'slack:T1:UADMIN',
    });
    await stack.project(hosts, repo.path, { name: 'app', environments: [{ name: 'staging' }] });
    await stack.grant(
      'app',
      { platform: 'slack', workspace: 'T1', userId: DEV.userId, name: DEV.userName },
      'deployer',
    );
  });
  afterAll(async () => {
    await stack?.stop();
    await slack?.close();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  it('runs a signed request once: a replay inside the window and a Slack retry change nothing', async () => {
    // `status` answers with a message each time it runs, and nothing refuses a second one.
    const request = body('status app');
    const statusPosts = () =>
      slack.requests.filter(
        (r) => r.path === '/api/chat.postMessage' && messageText(r.body).includes('Status of app'),
      );
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await postSigned(stack.url, SECRET, request.raw, { timestamp })).status).toBe(200);
    await slack.waitFor(
      (r) => r.path === '/api/chat.postMessage' && messageText(r.body).includes('Status of app'),
    );
    // The very same bytes, signature and timestamp, within five minutes: an attacker's replay.
    expect((await postSigned(stack.url, SECRET, request.raw, { timestamp })).status).toBe(200);
    // Slack's own retry of the same request carries a fresh signature and X-Slack-Retry-Num.
    const retry = await postSigned(stack.url, SECRET, request.raw, {
      timestamp: timestamp + 1,
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    expect(retry.status).toBe(200);
    // A fresh request of the same text is a new request and runs.
    expect((await postSigned(stack.url, SECRET, body('status app').raw)).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (statusPosts().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(statusPosts()).toHaveLength(2);
  });

  it('acks before the replay ledger answers: with the ledger blocked, the ack is at once and the work runs once it is free', async () => {
    const statusPosts = () =>
      slack.requests.filter(
        (r) => r.path === '/api/chat.postMessage' && messageText(r.body).includes('Status of app'),
      ).length;
    const before = statusPosts();
    // Another session holds the ledger table: every insert into it waits.
    const ledger = await holdLock(database, 'lock table inbound_requests in exclusive mode');
    try {
      const started = performance.now();
      const acked = await postSigned(stack.url, SECRET, body('status app').raw);
      const ackMs = performance.now() - started;
      expect(acked.status).toBe(200);
      expect(ackMs).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Not run before the ledger has said it is the first time.
      expect(statusPosts()).toBe(before);
    } finally {
      await ledger.release();
    }
    const deadline = Date.now() + 10_000;
    while (statusPosts() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statusPosts()).toBe(before + 1);
  });

  it('when the bot is not in the channel, answers through response_url with how to invite it, and keeps that message current', async () => {
    const request = body('app staging', { command: '/deploy', channelId: 'CPRIVATE' });
    expect((await postSigned(stack.url, SECRET, request.raw)).status).toBe(200);
    const firstAnswer = await slack.waitFor((r) => `${slack.url}${r.path}` === request.responseUrl);
    expect(firstAnswer.body.response_type).toBe('in_channel');
    expect(messageText(firstAnswer.body)).toMatch(/\/invite @Slipway/);
    const deployments = await stack.deployments('app');
    const last = deployments[deployments.length - 1]!;
    await stack.waitFor(last.id, (d) => d.status === 'finished');
    const finished = await slack.waitFor(
      (r) =>
        `${slack.url}${r.path}` === request.responseUrl &&
        r.body.replace_original === true &&
        messageText(r.body).includes('Finished in'),
      30_000,
    );
    expect(messageText(finished.body)).toContain(`Deploy #${last.number}`);
    // Slack allows five uses of a response_url: the card stays within them.
    const uses = slack.requests.filter((r) => `${slack.url}${r.path}` === request.responseUrl);
    expect(uses.length).toBeLessThanOrEqual(5);
  });

  it('grants a role to a real Slack mention, and refuses a name that is no mention, granting nothing', async () => {
    const admin = { userId: 'UADMIN', userName: 'root' };
    const plain = body('members grant app @mallory approver', { user: admin });
    await postSigned(stack.url, SECRET, plain.raw);
    const refused = await slack.waitFor((r) => `${slack.url}${r.path}` === plain.responseUrl);
    expect(refused.body.response_type).toBe('ephemeral');
    expect(messageText(refused.body)).toMatch(/mention/i);
    const none = await database.query(`select * from chat_identities where user_id = 'mallory'`);
    expect(none).toHaveLength(0);

    const real = body('members grant app <@UNEW|newbie> approver', { user: admin });
    await postSigned(stack.url, SECRET, real.raw);
    const granted = await slack.waitFor(
      (r) =>
        (`${slack.url}${r.path}` === real.responseUrl || r.path === '/api/chat.postMessage') &&
        messageText(r.body).includes('is now approver on app'),
    );
    expect(granted).toBeDefined();
    const rows = await database.query<{ platform: string; workspace: string; user_id: string }>(
      `select platform, workspace, user_id from chat_identities where user_id = 'UNEW'`,
    );
    expect(rows).toEqual([{ platform: 'slack', workspace: 'T1', user_id: 'UNEW' }]);
  });

  it('help lists the commands as Slack has them: its slash commands, the rest through /slipway', async () => {
    const started = performance.now();
    const request = body('help');
    const response = await postSigned(stack.url, SECRET, request.raw);
    // Help needs no Web API call: it comes back in the ack itself.
    expect(performance.now() - started).toBeLessThan(1000);
    const answer = (await response.json()) as { response_type: string; text: string; blocks: unknown[] };
    expect(answer.response_type).toBe('ephemeral');
    const text = JSON.stringify(answer.blocks);
    expect(text).toContain('/deploy &lt;project&gt; &lt;env&gt; [ref]');
    expect(text).toContain('/slipway rollback');
    expect(text).not.toMatch(/(^|[^y] )\/rollback/);
    expect(text).not.toContain('"/status');
  });
});

/** Issue 14, items 5 and 6: a bad token or an unreachable Web API must not take Slipway down or slow an ack. */
describe('Slack with a bad token or an unreachable Web API', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('keeps running with a revoked token: the API answers, /readyz says why Slack is down, help still works', async () => {
    const slack = await startSlackFake({ authError: 'invalid_auth' });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const stack = await startChatSlipway(database, {
      SLACK_BOT_TOKEN: 'xoxb-revoked',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
    });
    try {
      await slack.waitFor((r) => r.path === '/api/auth.test');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
      const ready = await fetch(`${stack.url}/readyz`);
      expect(ready.status).toBe(200);
      const readiness = (await ready.json()) as {
        adapters: Record<string, { status: string; detail?: string }>;
      };
      expect(readiness.adapters.slack?.status).toBe('down');
      expect(readiness.adapters.slack?.detail).toContain('invalid_auth');
      expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${stack.url}/metrics`)).text();
      expect(metrics).toMatch(/slipway_chat_adapter_up\{platform="slack"\} 0/);
      const help = await postSigned(
        stack.url,
        SECRET,
        slashCommandBody({
          command: '/slipway',
          text: 'help',
          userId: 'U1',
          userName: 'u',
          responseUrl: `${slack.url}/respond/1`,
        }),
      );
      expect(((await help.json()) as { text: string }).text).toContain('Slipway commands');
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await stack.stop();
      await slack.close();
    }
  });

  it('answers help and bad input in the ack at once while the Web API does not answer', async () => {
    const dead = await startUnansweringServer();
    const stack = await startChatSlipway(database, {
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: dead.apiUrl,
    });
    try {
      for (const [text, expected] of [
        ['help', 'Slipway commands'],
        ['deploy app', '&lt;env&gt; is missing'],
        ['deplooy', 'There is no command'],
      ] as const) {
        const started = performance.now();
        const response = await postSigned(
          stack.url,
          SECRET,
          slashCommandBody({
            command: '/slipway',
            text,
            userId: 'U1',
            userName: 'u',
            responseUrl: 'http://127.0.0.1:9/respond',
          }),
        );
        const elapsed = performance.now() - started;
        expect(response.status).toBe(200);
        expect(elapsed).toBeLessThan(500);
        expect(((await response.json()) as { text: string }).text).toContain(expected);
      }
      const readiness = (await (await fetch(`${stack.url}/readyz`)).json()) as {
        adapters: Record<string, { status: string }>;
      };
      expect(readiness.adapters.slack?.status).not.toBe('up');
    } finally {
      await stack.stop();
      await dead.close();
    }
  });
});

/** Issue 14, item 10: a manifest that registers a URL Slack cannot reach says so. */
describe('slipway slack-manifest', () => {
  it('warns on stderr when the request URL is not public, and prints the manifest on stdout', async () => {
    const local = runSlipway(['slack-manifest'], { SLIPWAY_PUBLIC_URL: 'http://localhost:3000' });
    expect((await local.exited).code).toBe(0);
    expect(local.output()).toMatch(
      /warning: The request URL http:\/\/localhost:3000\/slack\/events is not public/,
    );
    expect(local.output()).toContain('"should_escape": true');
    const public_ = runSlipway(['slack-manifest'], { SLIPWAY_PUBLIC_URL: 'https://slipway.example.com' });
    expect((await public_.exited).code).toBe(0);
    expect(public_.output()).not.toContain('warning:');
  });
});
