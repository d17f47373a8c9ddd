import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { startChatSlipway, trustRepository } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  blockActionsBody,
  messageText,
  postSigned,
  type SlackFake,
  slashCommandBody,
  startSlackFake,
} from '../support/slack-fake.js';

const SECRET = 'slack-signing-secret-for-tests';
const USERS = {
  dev: { userId: 'UDEV', userName: 'dev' },
  approver1: { userId: 'UAPP1', userName: 'alice' },
  approver2: { userId: 'UAPP2', userName: 'bob' },
  viewer: { userId: 'UVIEW', userName: 'victor' },
};

/**
 * Slack end to end: real-format, signed slash commands and block_actions posted over HTTP to
 * Slipway's /slack/events (the real Bolt app behind our receiver), the real WebClient and
 * response_url posts going to a local recording Slack, deployments running on real OpenSSH.
 */
describe.skipIf(skipSshSuites)('Slack adapter end to end', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let slack: SlackFake;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  let responses = 0;

  const command = (user: { userId: string; userName: string }, name: string, text: string) => {
    const responseUrl = `${slack.url}/respond/${++responses}`;
    const body = slashCommandBody({
      command: name,
      text,
      userId: user.userId,
      userName: user.userName,
      responseUrl,
    });
    return { responseUrl, send: () => postSigned(stack.url, SECRET, body) };
  };
  const click = (
    user: { userId: string; userName: string },
    actionId: string,
    value: string,
    messageTs: string,
  ) => {
    const responseUrl = `${slack.url}/respond/${++responses}`;
    const body = blockActionsBody({
      actionId,
      value,
      userId: user.userId,
      userName: user.userName,
      messageTs,
      responseUrl,
    });
    return { responseUrl, send: () => postSigned(stack.url, SECRET, body) };
  };
  /** The chat.postMessage that a slash command produced, found by text. */
  const posted = (text: string) =>
    slack.waitFor((r) => r.path === '/api/chat.postMessage' && messageText(r.body).includes(text));
  const updated = (ts: string, text: string) =>
    slack.waitFor(
      (r) => r.path === '/api/chat.update' && r.body.ts === ts && messageText(r.body).includes(text),
      60_000,
    );
  const responded = (url: string) => slack.waitFor((r) => `${slack.url}${r.path}` === url);

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(1);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustRepository(repo.path);
    slack = await startSlackFake();
    stack = await startChatSlipway(database, {
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLIPWAY_ADMINS: 'slack:T1:UADMIN',
    });
    await stack.project(hosts, repo.path, {
      name: 'app',
      environments: [
        { name: 'staging', tier: 'staging' },
        { name: 'production', tier: 'production', approvals: 2 },
      ],
    });
    const slackUser = (u: { userId: string; userName: string }) => ({
      platform: 'slack' as const,
      workspace: 'T1',
      userId: u.userId,
      name: u.userName,
    });
    await stack.grant('app', slackUser(USERS.dev), 'approver');
    await stack.grant('app', slackUser(USERS.approver1), 'approver');
    await stack.grant('app', slackUser(USERS.approver2), 'approver');
    await stack.grant('app', slackUser(USERS.viewer), 'viewer');
  });
  afterAll(async () => {
    await stack?.stop();
    await slack?.close();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  it('refuses a bad, a missing or a stale signature with 401, and nothing runs', async () => {
    const body = slashCommandBody({
      command: '/deploy',
      text: 'app staging',
      userId: USERS.dev.userId,
      userName: USERS.dev.userName,
      responseUrl: `${slack.url}/respond/never`,
    });
    const bad = await postSigned(stack.url, SECRET, body, { signature: `v0=${'0'.repeat(64)}` });
    expect(bad.status).toBe(401);
    const missing = await postSigned(stack.url, SECRET, body, { signature: null });
    expect(missing.status).toBe(401);
    const wrongSecret = await postSigned(stack.url, 'another-secret', body);
    expect(wrongSecret.status).toBe(401);
    const stale = await postSigned(stack.url, SECRET, body, {
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect(stale.status).toBe(401);
    expect(await stack.deployments('app')).toHaveLength(0);
    expect(slack.requests.filter((r) => r.path !== '/api/auth.test')).toHaveLength(0);
  });

  it('answers bad input privately in the ack with the usage line, and changes nothing', async () => {
    const started = performance.now();
    const response = await command(USERS.dev, '/deploy', 'app').send();
    expect(performance.now() - started).toBeLessThan(3000);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    // The fallback text is mrkdwn, as the blocks are: escaped the same way.
    expect(body.text).toContain('&lt;env&gt; is missing');
    expect(JSON.stringify(body)).toContain('/deploy &lt;project&gt; &lt;env&gt; [ref]');
    expect(await stack.deployments('app')).toHaveLength(0);
  });

  it('names what exists when the project or environment is unknown', async () => {
    const unknownProject = command(USERS.dev, '/deploy', 'nope staging');
    expect((await unknownProject.send()).status).toBe(200);
    const first = await responded(unknownProject.responseUrl);
    expect(first.body.response_type).toBe('ephemeral');
    expect(messageText(first.body)).toContain('There is no project \\"nope\\". Projects: app.');

    const unknownEnv = command(USERS.dev, '/slipway', 'deploy app qa');
    await unknownEnv.send();
    const second = await responded(unknownEnv.responseUrl);
    expect(messageText(second.body)).toContain('Environments: production, staging.');
    expect(await stack.deployments('app')).toHaveLength(0);
  });

  it('deploys without approval: acks at once, posts one message and edits it to finished', async () => {
    const started = performance.now();
    const response = await command(USERS.dev, '/deploy', 'app staging').send();
    const ackMs = performance.now() - started;
    expect(response.status).toBe(200);
    expect(ackMs).toBeLessThan(3000);
    const message = await posted('Deploy #1 · app → staging');
    expect(message.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(message.body.channel).toBe('C1');
    const ts = message.ts ?? '';
    const finished = await updated(ts, 'Finished in');
    // The first release of staging: nothing to roll back to, so no Rollback button.
    expect(messageText(finished.body)).not.toContain('Rollback');
    const [deployment] = await stack.deployments('app');
    expect(deployment?.status).toBe('finished');
    // Edited in place: every update targets the same message; none posted a second one.
    expect(slack.requests.filter((r) => r.path === '/api/chat.postMessage')).toHaveLength(1);
  });

  it('approvals: self-approval and a non-approver refused, a double click counted once, then it runs', async () => {
    slack.clear();
    await command(USERS.dev, '/deploy', 'app production').send();
    const card = await posted('Deploy #2 · app → production');
    expect(messageText(card.body)).toContain('Waiting for approval: 0/2');
    expect(messageText(card.body)).toContain('"action_id":"approve"');
    const deployment = (await stack.deployments('app')).find((d) => d.number === 2);
    expect(deployment?.status).toBe('awaiting_approval');
    const id = deployment?.id ?? '';
    const ts = card.ts ?? '';

    const self = click(USERS.dev, 'approve', id, ts);
    expect((await self.send()).status).toBe(200);
    const selfReply = await responded(self.responseUrl);
    expect(selfReply.body.response_type).toBe('ephemeral');
    expect(messageText(selfReply.body)).toContain('You asked for this deployment');

    const viewer = click(USERS.viewer, 'approve', id, ts);
    await viewer.send();
    expect(messageText((await responded(viewer.responseUrl)).body)).toContain(
      'Only members with the approver role on app can approve or reject; you have the viewer role',
    );

    await click(USERS.approver1, 'approve', id, ts).send();
    const once = await updated(ts, 'Waiting for approval: 1/2');
    expect(messageText(once.body)).toContain('alice');

    const again = click(USERS.approver1, 'approve', id, ts);
    await again.send();
    expect(messageText((await responded(again.responseUrl)).body)).toContain('You already approved');
    const rows = await database.query<{ n: number }>(
      'select count(*)::int as n from approvals a join approval_requests r on r.id = a.request_id where r.deployment_id = $1',
      [id],
    );
    expect(rows[0]?.n).toBe(1);

    await click(USERS.approver2, 'approve', id, ts).send();
    const done = await updated(ts, 'Finished in');
    expect(messageText(done.body)).toContain('alice, bob');
    expect((await stack.waitFor(id, (d) => d.status === 'finished')).status).toBe('finished');
  });

  it('one Reject ends the request and the card says who', async () => {
    slack.clear();
    await command(USERS.dev, '/deploy', 'app production').send();
    const card = await posted('Deploy #3 · app → production');
    const id = (await stack.deployments('app')).find((d) => d.number === 3)?.id ?? '';
    const ts = card.ts ?? '';
    expect(card.body.channel).toBe('C1');
    await click(USERS.approver2, 'reject', id, ts).send();
    const rejected = await updated(ts, 'Rejected by bob');
    expect(messageText(rejected.body)).not.toContain('"action_id":"approve"');
    expect((await stack.waitFor(id, (d) => d.status === 'rejected')).status).toBe('rejected');
    const late = click(USERS.approver1, 'approve', id, ts);
    await late.send();
    expect(messageText((await responded(late.responseUrl)).body)).toContain('already rejected');
  });

  it('a click after expiry is refused, and the sweep closes expired requests and updates their cards', async () => {
    slack.clear();
    await command(USERS.dev, '/deploy', 'app production').send();
    const card = await posted('Deploy #4 · app → production');
    const id = (await stack.deployments('app')).find((d) => d.number === 4)?.id ?? '';
    await database.query(
      `update approval_requests set expires_at = now() - interval '1 minute' where deployment_id = $1`,
      [id],
    );
    const late = click(USERS.approver1, 'approve', id, card.ts ?? '');
    await late.send();
    expect(messageText((await responded(late.responseUrl)).body)).toContain('expired');
    expect((await stack.waitFor(id, (d) => d.status === 'expired')).status).toBe('expired');

    await command(USERS.dev, '/deploy', 'app production').send();
    const secondCard = await posted('Deploy #5 · app → production');
    const second = (await stack.deployments('app')).find((d) => d.number === 5)?.id ?? '';
    await database.query(
      `update approval_requests set expires_at = now() - interval '1 minute' where deployment_id = $1`,
      [second],
    );
    const swept = await stack.slipway.services.approvals.expireDue();
    expect(swept).toEqual([second]);
    for (const deploymentId of swept) stack.slipway.chat.notifier.notify(deploymentId);
    await updated(secondCard.ts ?? '', 'approval request expired');
  });

  it('a locked environment refuses others with who, why and since when; the holder may deploy', async () => {
    slack.clear();
    const lock = command(USERS.approver1, '/slipway', 'lock app staging db migration for 2h');
    await lock.send();
    const locked = await posted('app/staging locked');
    expect(messageText(locked.body)).toContain('Locked by alice: db migration, until');

    const refused = command(USERS.dev, '/deploy', 'app staging');
    await refused.send();
    const reply = await responded(refused.responseUrl);
    expect(reply.body.response_type).toBe('ephemeral');
    expect(messageText(reply.body)).toMatch(
      /staging is locked by alice since \d{4}-\d\d-\d\d \d\d:\d\d UTC: db migration/,
    );
    const count = (await stack.deployments('app')).length;

    const unlock = command(USERS.dev, '/slipway', 'unlock app staging');
    await unlock.send();
    expect(messageText((await responded(unlock.responseUrl)).body)).toContain(
      'Only alice or an admin can unlock it',
    );

    const admin = command({ userId: 'UADMIN', userName: 'root' }, '/slipway', 'unlock app staging');
    await admin.send();
    const broke = await posted('app/staging unlocked');
    expect(messageText(broke.body)).toContain("root broke alice's lock (db migration)");
    const audit = await database.query<{ action: string }>(
      `select action from audit_events where action like 'lock.%' order by id`,
    );
    expect(audit.map((row) => row.action)).toEqual(['lock.create', 'lock.break']);
    expect((await stack.deployments('app')).length).toBe(count);
  });

  it('a viewer may not deploy, and is told which role is needed', async () => {
    const attempt = command(USERS.viewer, '/deploy', 'app staging');
    await attempt.send();
    const reply = await responded(attempt.responseUrl);
    expect(messageText(reply.body)).toContain(
      'You need the deployer role on app to deploy; you have the viewer role',
    );
  });
  it('promotes exactly the commit live on the source environment, through the test gate', async () => {
    slack.clear();
    const live = (await stack.deployments('app')).find((d) => d.number === 2);
    const before = (await stack.deployments('app')).length;
    // staging's test gate is "warn" (the default), and CI is running the commit's tests again.
    await stack.slipway.services.statuses.report(
      { memberId: null, name: 'ci', source: 'test' },
      'app',
      live!.commitHash!,
      { state: 'pending', context: 'ci' },
    );
    const gated = command(USERS.dev, '/promote', 'app production staging');
    await gated.send();
    const warned = messageText((await responded(gated.responseUrl)).body);
    expect(warned).toContain(`Waiting for CI on ${live!.commitHash!.slice(0, 7)} (ci still running)`);
    expect(warned).toContain('confirm to promote anyway. Type: /promote app production staging confirm');
    const forced = command(USERS.dev, '/promote', 'app production staging force');
    await forced.send();
    expect(messageText((await responded(forced.responseUrl)).body)).toContain(
      'You need the admin role on app',
    );
    expect(await stack.deployments('app')).toHaveLength(before);

    await command(USERS.dev, '/promote', 'app production staging confirm').send();
    const message = await posted('Promote');
    expect(messageText(message.body)).toContain('Confirmed by dev');
    expect(messageText(message.body)).toContain('→ staging');
    const finished = await updated(message.ts ?? '', 'Finished in');
    expect(messageText(finished.body)).toContain(`production @ ${live?.commitHash?.slice(0, 8)}`);
    const promote = (await stack.deployments('app')).at(-1);
    expect(promote?.kind).toBe('promote');
    expect(promote?.commitHash).toBe(live?.commitHash);
    // CI finishes green again, for the deploys that follow.
    await stack.slipway.services.statuses.report(
      { memberId: null, name: 'ci', source: 'test' },
      'app',
      live!.commitHash!,
      { state: 'success', context: 'ci' },
    );
  });

  it('admins grant roles from chat; others may not', async () => {
    slack.clear();
    const refused = command(USERS.approver1, '/slipway', 'members grant app <@UNEW|newbie> deployer');
    await refused.send();
    expect(messageText((await responded(refused.responseUrl)).body)).toContain(
      'You need the admin role on app',
    );

    await command(
      { userId: 'UADMIN', userName: 'root' },
      '/slipway',
      'members grant app <@UNEW|newbie> viewer',
    ).send();
    await posted('newbie is now viewer on app');
    await command({ userId: 'UNEW', userName: 'newbie' }, '/slipway', 'status app').send();
    const status = await posted('Status of app');
    expect(messageText(status.body)).toContain('app/production');
    expect(messageText(status.body)).toContain('app/staging');
    const audit = await database.query<{ action: string }>(
      `select action from audit_events where action = 'member.grant' and source = 'slack'`,
    );
    expect(audit).toHaveLength(1);
  });
  it('/cancel closes a waiting deployment and its approval card shows it; others may not cancel', async () => {
    slack.clear();
    await command(USERS.dev, '/deploy', 'app production').send();
    const card = await posted('· app → production');
    const waiting = (await stack.deployments('app')).at(-1);
    expect(waiting?.status).toBe('awaiting_approval');
    const viewer = command(USERS.viewer, '/slipway', `cancel ${waiting?.number}`);
    await viewer.send();
    expect(messageText((await responded(viewer.responseUrl)).body)).toContain(
      'You need the deployer role on app to cancel deployments; you have the viewer role',
    );
    await command(USERS.dev, '/slipway', `cancel ${waiting?.number}`).send();
    await updated(card.ts ?? '', 'Cancelled by dev');
    expect((await stack.waitFor(waiting?.id ?? '', (d) => d.status === 'cancelled')).status).toBe(
      'cancelled',
    );
    const late = click(USERS.approver1, 'approve', waiting?.id ?? '', card.ts ?? '');
    await late.send();
    expect(messageText((await responded(late.responseUrl)).body)).toContain('already cancelled');
  });

  it('status shows each environment: tier, live commit, last deploy, lock, pending approvals', async () => {
    slack.clear();
    await command(USERS.approver1, '/slipway', 'lock app staging smoke tests').send();
    await posted('app/staging locked');
    await command(USERS.dev, '/deploy', 'app production').send();
    await posted('· app → production');
    const all = await stack.deployments('app');
    const pending = all.at(-1);
    const environmentIds = new Map(
      (await database.query<{ id: string; name: string }>('select id, name from environments')).map((e) => [
        e.name,
        e.id,
      ]),
    );
    /** The commit of the environment's most recently finished deploy or promote. */
    const liveOn = (environment: string) =>
      all
        .filter((d) => d.environment.id === environmentIds.get(environment))
        .filter((d) => d.status === 'finished' && d.kind !== 'rollback')
        .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0))[0]?.commitHash;

    await command(USERS.viewer, '/slipway', 'status app').send();
    const status = await posted('Status of app');
    const lines = String(status.body.text).split('\n');
    const production = lines.find((line) => line.includes('app/production')) ?? '';
    const staging = lines.find((line) => line.includes('app/staging')) ?? '';
    expect(production).toContain('(production)');
    expect(production).toContain(`live ${liveOn('production')?.slice(0, 8)}`);
    expect(production).toContain(`last #${pending?.number} awaiting_approval by dev`);
    expect(production).toContain('1 awaiting approval');
    expect(production).not.toContain('🔒');
    expect(staging).toContain('(staging)');
    expect(staging).toContain(`live ${liveOn('staging')?.slice(0, 8)}`);
    expect(staging).toContain('🔒 alice: smoke tests');
    expect(staging).not.toContain('awaiting approval');

    await command(USERS.dev, '/slipway', `cancel ${pending?.number}`).send();
    await command(USERS.approver1, '/slipway', 'unlock app staging').send();
    await posted('app/staging unlocked');
  });
});
