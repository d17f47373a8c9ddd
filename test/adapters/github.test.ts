import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Approval, Deployment } from '../../src/db/entities/index.js';
import { type ApiStack, ended, startApiStack } from '../api/api-harness.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-standin.js';
import {
  deliverToSlipway,
  type GitHubPayload,
  githubExample,
  signGitHubBody,
} from '../support/github-webhooks.js';
import { startWebhookReceiver } from '../support/notification-receivers.js';

const SECRET = 'github-webhook-secret-0123456789';
const TOKEN = 'ghs_standin0123456789abcdefghijkl';
const CHANNEL_SECRET = 'channel-signing-secret-0123456789';
const PUBLIC_URL = 'https://slipway.example.test';

interface PushReply {
  delivery: string;
  duplicate?: boolean;
  outcome: {
    repository: string;
    projects: string[];
    note?: string;
    results: {
      project: string;
      environment: string;
      behaviour: string;
      outcome: string;
      deployment?: { id: string; number: number; status: string };
      pending?: number;
      code?: string;
      reason?: string;
    }[];
  };
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * GitHub end to end: real example payloads (@octokit/webhooks-examples), signed here, posted over
 * HTTP to a running Slipway; deployments run with the local transport from a fixture repository;
 * GitHub's REST API is a local stand-in, so the real Octokit client sends the deployment and
 * status requests asserted on.
 */
describe('GitHub', () => {
  let database: TestDatabase;
  let github: GitHubStandIn;
  let api: ApiStack;
  let admin: string;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let c0: string;
  let c1: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    github = await startGitHubStandIn({ token: TOKEN });
    hook = await startWebhookReceiver(CHANNEL_SECRET);
    api = await startApiStack(database, {
      GITHUB_WEBHOOK_SECRET: SECRET,
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.url,
      SLIPWAY_PUBLIC_URL: PUBLIC_URL,
      SLIPWAY_NOTIFY_RETRY_BASE_MS: '200',
    });
    admin = await api.rootToken();
    [c0, c1] = api.repo.commits as [string, string];
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
    await github?.close();
    await hook?.close();
    await database?.drop();
  });

  /** A project of `owner/name` on GitHub, deploying the fixture repository to a local server. */
  async function githubProject(
    name: string,
    environments: {
      name: string;
      tier?: string;
      commit_behavior?: string;
      approvals_required?: number;
      external_url?: string;
    }[],
    options: { pushToDeploy?: boolean; channel?: boolean } = {},
  ) {
    const created = await api.call<{ project: { github_repository: string | null } }>(
      'POST',
      '/api/v1/projects',
      {
        token: admin,
        body: {
          name,
          repository: api.repo.path,
          github_repository: `Acme/${name}`,
          branch: 'main',
          retain_deployments: 3,
          ...(options.pushToDeploy ? { push_to_deploy: true } : {}),
        },
      },
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body.project.github_repository).toBe(`acme/${name}`);
    const server = await api.call('POST', `/api/v1/projects/${name}/servers`, {
      token: admin,
      body: { name: 'local-1', transport: 'local', deploymentPath: `${api.folder}/${name}/local-1` },
    });
    expect(server.status, server.text).toBe(201);
    for (const environment of environments) {
      const made = await api.call('POST', `/api/v1/projects/${name}/environments`, {
        token: admin,
        body: { branch: 'main', servers: ['local-1'], tier: 'staging', ...environment },
      });
      expect(made.status, made.text).toBe(201);
    }
    if (options.channel) {
      const channel = await api.call('POST', `/api/v1/projects/${name}/notifications`, {
        token: admin,
        body: { type: 'webhook', name: 'team', webhookUrl: hook.hookUrl, secret: CHANNEL_SECRET },
      });
      expect(channel.status, channel.text).toBe(201);
    }
  }

  /** GitHub's example branch push, adjusted to this repository, branch and commit. */
  function pushOf(
    project: string,
    sha: string,
    options: {
      branch?: string;
      forced?: boolean;
      commits?: string[];
      sender?: string;
      message?: string;
    } = {},
  ): GitHubPayload<'push'> {
    const push = githubExample('push', (example) => example.ref.startsWith('refs/heads/'));
    const head = push.head_commit!;
    const commit = (id: string) => ({
      ...head,
      id,
      tree_id: id,
      message: id === sha ? (options.message ?? 'Second release\n\nwith a body') : `Commit ${id.slice(0, 7)}`,
      author: { name: 'Ada Lovelace', email: 'ada@example.test', username: 'ada' },
    });
    push.ref = `refs/heads/${options.branch ?? 'main'}`;
    push.after = sha;
    push.created = false;
    push.forced = options.forced ?? false;
    push.head_commit = commit(sha);
    push.commits = (options.commits ?? [sha]).map(commit);
    push.repository.full_name = `Acme/${project}`;
    push.repository.name = project;
    push.sender!.login = options.sender ?? 'octocat';
    return push;
  }

  const push = (
    project: string,
    sha: string,
    options: Parameters<typeof pushOf>[2] & { delivery?: string } = {},
  ) => deliverToSlipway<PushReply>(api.stack.url, SECRET, 'push', pushOf(project, sha, options), options);

  const deploymentRow = (id: string) => api.stack.em().findOneOrFail(Deployment, { id });
  const statesOf = (slipwayId: string) =>
    github.deploymentsOf(slipwayId).map((d) => d.statuses.map((s) => s.state));

  describe('the webhook endpoint', () => {
    beforeAll(() => githubProject('gate', [{ name: 'staging', commit_behavior: 'create_new_build' }]));

    it('refuses unsigned and badly signed deliveries with 401 and changes nothing', async () => {
      const before = await database.query<{ n: number }>(
        `select (select count(*) from deployments)::int + (select count(*) from audit_events)::int
              + (select count(*) from inbound_requests)::int as n`,
      );
      const payload = pushOf('gate', c1);
      const body = JSON.stringify(payload);
      const unsigned = await deliverToSlipway(api.stack.url, SECRET, 'push', payload, { signature: null });
      expect(unsigned.status).toBe(401);
      expect(unsigned.body).toMatchObject({ error: 'invalid_signature' });
      const otherSecret = await deliverToSlipway(api.stack.url, SECRET, 'push', payload, {
        signature: signGitHubBody('not-the-secret-at-all', body),
      });
      expect(otherSecret.status).toBe(401);
      // Signed, then changed on the way: the signature is over the exact bytes.
      const tampered = await deliverToSlipway(api.stack.url, SECRET, 'push', payload, {
        signature: signGitHubBody(SECRET, body),
        body: body.replace('"octocat"', '"mallory"'),
      });
      expect(tampered.status).toBe(401);
      const sha1 = await deliverToSlipway(api.stack.url, SECRET, 'push', payload, {
        signature: `sha1=${'0'.repeat(40)}`,
      });
      expect(sha1.status).toBe(401);
      const after = await database.query<{ n: number }>(
        `select (select count(*) from deployments)::int + (select count(*) from audit_events)::int
              + (select count(*) from inbound_requests)::int as n`,
      );
      expect(after).toEqual(before);
    });

    it('answers ping, and answers events it does not act on with 200 and ignores them', async () => {
      const ping = await deliverToSlipway<{ ok: boolean; zen: string }>(
        api.stack.url,
        SECRET,
        'ping',
        githubExample('ping'),
      );
      expect(ping.status).toBe(200);
      expect(ping.body.ok).toBe(true);
      expect(typeof ping.body.zen).toBe('string');
      const issue = await deliverToSlipway<{ ignored: string }>(
        api.stack.url,
        SECRET,
        'issues',
        githubExample('issues'),
      );
      expect(issue.status).toBe(200);
      expect(issue.body.ignored).toMatch(/does not act on "issues"/);
      expect(await database.query('select key from inbound_requests')).toEqual([]);
    });

    it('deploys nothing for a push to a branch no environment tracks, nor for a tag', async () => {
      const feature = await push('gate', c1, { branch: 'feature/login' });
      expect(feature.status).toBe(200);
      expect(feature.body.outcome.results).toEqual([]);
      expect(feature.body.outcome.note).toMatch(/No environment tracks the branch feature\/login/);
      // GitHub's own example of a tag being created, for this repository.
      const tag = githubExample('push', (example) => example.ref.startsWith('refs/tags/') && example.created);
      tag.repository.full_name = 'Acme/gate';
      tag.after = c1;
      const tagged = await deliverToSlipway<PushReply>(api.stack.url, SECRET, 'push', tag);
      expect(tagged.status).toBe(200);
      expect(tagged.body.outcome.note).toMatch(/A tag push deploys nothing/);
      const unknown = await push('elsewhere', c1);
      expect(unknown.body.outcome.note).toMatch(/No project uses the repository acme\/elsewhere/);
      const rows = await database.query('select id from deployments');
      expect(rows).toEqual([]);
    });
  });

  describe('create_new_build', () => {
    beforeAll(() =>
      githubProject(
        'shop',
        [{ name: 'staging', commit_behavior: 'create_new_build', external_url: 'https://staging.shop.test' }],
        { channel: true },
      ),
    );

    it('deploys the pushed commit as github:<sender>, announces it, reports it to GitHub; a redelivery does nothing', async () => {
      const delivered = await push('shop', c1, { message: 'Second release\n\nShips v2.' });
      expect(delivered.status).toBe(200);
      const [result] = delivered.body.outcome.results;
      expect(result).toMatchObject({
        project: 'shop',
        environment: 'staging',
        behaviour: 'create_new_build',
        outcome: 'deployed',
      });
      const id = result!.deployment!.id;
      const deployment = await api.waitFor(id, ended);
      expect(deployment).toMatchObject({
        status: 'finished',
        kind: 'deploy',
        ref: 'main',
        commitHash: c1,
        commitMessage: 'Second release\n\nShips v2.',
        commitAuthor: 'Ada Lovelace',
        requestedByName: 'github:octocat',
        source: 'github',
      });
      // staging's "warn" test gate: the push is the confirmation, audited as the pusher's.
      const confirmed = await database.query<{
        actor_name: string;
        details: { gate: string; tests: string };
      }>(
        `select actor_name, details from audit_events where action = 'deployment.deploy.test_gate_confirmed'
            and details->>'commit' = $1`,
        [c1],
      );
      expect(confirmed).toEqual([
        expect.objectContaining({
          actor_name: 'github:octocat',
          details: expect.objectContaining({ gate: 'warn', tests: 'none' }),
        }),
      ]);

      // Announced in the project's channel (its default events).
      const announced = await eventually('the channel to hear the deployment end', () =>
        [...hook.processed.values()].find(
          (r) =>
            r.body.type === 'deployment.finished' &&
            (r.body.data as { deployment: { id: string } }).deployment.id === id,
        ),
      );
      expect(String(announced.body.text)).toContain('github:octocat');

      // Reported to GitHub: one deployment of the commit, queued → in_progress → success.
      const states = await eventually('GitHub to get the success', () => {
        const list = statesOf(id);
        return list[0]?.includes('success') ? list : undefined;
      });
      expect(states).toEqual([['queued', 'in_progress', 'success']]);
      const [made] = github.deploymentsOf(id);
      expect(made).toMatchObject({
        repository: 'acme/shop',
        sha: c1,
        ref: c1,
        environment: 'staging',
        production_environment: false,
      });
      const calls = github.requests.filter((r) => r.body && r.path.startsWith('/repos/acme/shop/'));
      expect(calls.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
      const create = calls.find((r) => r.method === 'POST' && r.path === '/repos/acme/shop/deployments')!;
      expect(create.body).toMatchObject({
        ref: c1,
        auto_merge: false,
        required_contexts: [],
        environment: 'staging',
      });
      for (const status of made!.statuses) {
        expect(status.environment_url).toBe('https://staging.shop.test');
        expect(status.log_url).toBe(`${PUBLIC_URL}/api/v1/projects/shop/deployments/${deployment.number}`);
      }
      if (process.env.PRINT_PUSH) {
        const sent = pushOf('shop', c1, { message: 'Second release\n\nShips v2.' });
        const shown = {
          webhook: {
            headers: { 'x-github-event': 'push', 'x-github-delivery': delivered.delivery },
            payload: {
              ref: sent.ref,
              after: sent.after,
              repository: sent.repository.full_name,
              sender: sent.sender?.login,
            },
          },
          answer: delivered.body,
          deployment: {
            number: deployment.number,
            status: deployment.status,
            commit: deployment.commitHash,
            requestedBy: deployment.requestedByName,
          },
          githubCalls: github.requests
            .filter((r) => r.path.startsWith('/repos/acme/shop/'))
            .map((r) => ({ method: r.method, path: r.path, body: r.body })),
        };
        process.stdout.write(`\n--- one push ---\n${JSON.stringify(shown, null, 2)}\n---\n`);
      }

      // The same delivery again (GitHub's "Redeliver"): 200, and nothing new.
      const again = await push('shop', c1, { delivery: delivered.delivery });
      expect(again.status).toBe(200);
      expect(again.body.duplicate).toBe(true);
      const rows = await database.query(
        `select id from deployments where project_id = (select id from projects where name = 'shop')`,
      );
      expect(rows).toHaveLength(1);
      if (process.env.SLIPWAY_TRACE_GITHUB) {
        console.log(
          JSON.stringify(
            {
              webhook: { event: 'push', delivery: delivered.delivery, reply: delivered.body },
              deployment: {
                number: deployment.number,
                status: deployment.status,
                ref: deployment.ref,
                commit: deployment.commitHash,
                message: deployment.commitMessage,
                author: deployment.commitAuthor,
                requestedBy: deployment.requestedByName,
                source: deployment.source,
              },
              github: github.requests
                .filter((r) => r.path.startsWith('/repos/acme/shop/'))
                .map((r) => ({
                  method: r.method,
                  path: r.path,
                  query: r.query.toString(),
                  status: r.status,
                  body: r.body,
                })),
            },
            null,
            2,
          ),
        );
      }
    });

    it('refuses a push while the environment is locked, and while it is busy, and says so', async () => {
      const locked = await api.call('POST', '/api/v1/projects/shop/environments/staging/lock', {
        token: admin,
        body: { reason: 'database migration' },
      });
      expect(locked.status, locked.text).toBe(200);
      const refused = await push('shop', c0);
      expect(refused.status).toBe(200);
      expect(refused.body.outcome.results[0]).toMatchObject({
        outcome: 'refused',
        code: 'environment_locked',
        reason: expect.stringContaining('database migration'),
      });
      const audit = await database.query<{
        actor_name: string;
        source: string;
        result: string;
        details: { code: string };
      }>(`select actor_name, source, result, details from audit_events where action = 'push.deploy'`);
      expect(audit).toEqual([
        expect.objectContaining({ actor_name: 'github:octocat', source: 'github', result: 'refused' }),
      ]);
      const announced = await eventually('the refusal to be announced', () =>
        [...hook.processed.values()].find((r) => r.body.type === 'push.refused'),
      );
      expect(announced.body.data).toMatchObject({
        environment: 'staging',
        commit: c0,
        code: 'environment_locked',
      });
      expect(String(announced.body.text)).toMatch(
        /could not deploy: staging is locked by .* database migration/,
      );
      expect(
        (await api.call('DELETE', '/api/v1/projects/shop/environments/staging/lock', { token: admin }))
          .status,
      ).toBe(200);

      // Busy: the first push's deployment holds the run slot while the second arrives.
      const first = await push('shop', c0);
      expect(first.body.outcome.results[0]!.outcome).toBe('deployed');
      const second = await push('shop', c1, { sender: 'grace' });
      expect(second.body.outcome.results[0]).toMatchObject({ outcome: 'refused', code: 'environment_busy' });
      await eventually('the busy refusal to be announced', () =>
        [...hook.processed.values()].find(
          (r) =>
            r.body.type === 'push.refused' &&
            (r.body.data as { pushedBy: string }).pushedBy === 'github:grace',
        ),
      );
      await api.waitFor(first.body.outcome.results[0]!.deployment!.id, ended);
    });

    it('reports a failed deploy as failure, and a later success makes the replaced one inactive', async () => {
      // Only the first release passes this install step.
      const changed = await api.call('PUT', '/api/v1/projects/shop', {
        token: admin,
        body: { install_command: 'grep -qx 1 VERSION' },
      });
      expect(changed.status, changed.text).toBe(200);
      const liveId = (await lastFinished('shop', 'staging')).id;
      await eventually('GitHub to show what is live', () => statesOf(liveId)[0]?.includes('success'));
      const live = github.deploymentsOf(liveId)[0]!;
      expect(live.statuses.at(-1)!.state).toBe('success');

      const failing = await push('shop', c1);
      const failed = await api.waitFor(failing.body.outcome.results[0]!.deployment!.id, ended);
      expect(failed.status).toBe('failed');
      await eventually('GitHub to hear of the failure', () => statesOf(failed.id)[0]?.includes('failure'));
      expect(statesOf(failed.id)).toEqual([['queued', 'in_progress', 'failure']]);
      const failure = github.deploymentsOf(failed.id)[0]!.statuses.at(-1)!;
      expect(failure.description).toMatch(/install|exit/i);
      // A failure replaces nothing: what was live stays active.
      expect(live.statuses.at(-1)!.state).toBe('success');

      await api.call('PUT', '/api/v1/projects/shop', { token: admin, body: { install_command: null } });
      const fixing = await push('shop', c0, { forced: true });
      const fixed = await api.waitFor(fixing.body.outcome.results[0]!.deployment!.id, ended);
      expect(fixed.status).toBe('finished');
      await eventually('GitHub to hear of the success', () => statesOf(fixed.id)[0]?.includes('success'));
      expect(statesOf(fixed.id)).toEqual([['queued', 'in_progress', 'success']]);
      expect(live.statuses.at(-1)).toMatchObject({
        state: 'inactive',
        description: expect.stringMatching(/Replaced by/),
      });
    });

    it('keeps the statuses while GitHub is unreachable: the deploy runs, and they arrive once it is back', async () => {
      github.setMode('unreachable');
      onTestFinished(() => github.setMode('up'));
      const pushed = await push('shop', c1);
      const deployment = await api.waitFor(pushed.body.outcome.results[0]!.deployment!.id, ended);
      expect(deployment.status).toBe('finished');
      await eventually('a failed attempt to reach GitHub', async () => {
        const rows = await database.query<{ attempts: number }>(
          `select d.attempts from notification_deliveries d join notification_channels c on c.id = d.channel_id
            join notification_events e on e.id = d.event_id
           where c.platform = 'github' and e.subject = $1 and d.status = 'retrying'`,
          [`deployment:${deployment.id}`],
        );
        return rows.some((row) => row.attempts >= 1) ? rows : undefined;
      });
      expect(github.deploymentsOf(deployment.id)).toEqual([]);
      github.setMode('up');
      await eventually(
        'GitHub to get every status',
        () => statesOf(deployment.id)[0]?.includes('success'),
        60_000,
      );
      // Every status, in order, on one GitHub deployment.
      expect(statesOf(deployment.id)).toEqual([['queued', 'in_progress', 'success']]);
    }, 90_000);
  });

  async function lastFinished(project: string, environment: string) {
    const [row] = await database.query<{ id: string }>(
      `select d.id from deployments d join environments e on e.id = d.environment_id join projects p on p.id = d.project_id
        where p.name = $1 and e.name = $2 and d.status = 'finished' order by d.finished_at desc limit 1`,
      [project, environment],
    );
    return row!;
  }

  describe('update_previous_build', () => {
    beforeAll(() =>
      githubProject('review', [
        { name: 'qa', commit_behavior: 'update_previous_build', approvals_required: 2 },
        { name: 'demo', commit_behavior: 'update_previous_build' },
      ]),
    );

    it('moves the deployment still waiting to the new commit and withdraws its approvals; else a new one', async () => {
      const first = await push('review', c0);
      const qa = first.body.outcome.results.find((r) => r.environment === 'qa');
      const demo = first.body.outcome.results.find((r) => r.environment === 'demo');
      expect(qa).toMatchObject({ environment: 'qa', outcome: 'awaiting_approval' });
      // Nothing waits on demo: a new deployment, as create_new_build would.
      expect(demo).toMatchObject({ environment: 'demo', outcome: 'deployed' });
      const approver = await api.token(
        'quinn',
        ['deployments:create'],
        [{ project: 'review', role: 'approver' }],
      );
      const approved = await api.call(
        'POST',
        `/api/v1/projects/review/deployments/${qa!.deployment!.number}/approve`,
        {
          token: approver,
        },
      );
      expect(approved.status, approved.text).toBe(200);
      expect(await api.stack.em().count(Approval, {})).toBe(1);
      await eventually('GitHub to hear of the wait', () =>
        statesOf(qa!.deployment!.id)[0]?.includes('pending'),
      );
      await api.waitFor(demo!.deployment!.id, ended);

      const second = await push('review', c1, { sender: 'grace' });
      const moved = second.body.outcome.results.find((r) => r.environment === 'qa');
      // demo's deploy had ended: the push makes a new one.
      const again = second.body.outcome.results.find((r) => r.environment === 'demo');
      expect(again).toMatchObject({ outcome: 'deployed' });
      await api.waitFor(again!.deployment!.id, ended);
      expect(moved).toMatchObject({ environment: 'qa', outcome: 'moved' });
      expect(moved!.deployment!.number).toBe(qa!.deployment!.number);
      const row = await deploymentRow(qa!.deployment!.id);
      expect(row).toMatchObject({
        status: 'awaiting_approval',
        commitHash: c1,
        requestedByName: 'github:octocat',
      });
      expect(await api.stack.em().count(Approval, {})).toBe(0);
      const [audit] = await database.query<{ actor_name: string; details: Record<string, unknown> }>(
        `select actor_name, details from audit_events where action = 'deployment.commit.update'`,
      );
      expect(audit).toMatchObject({
        actor_name: 'github:grace',
        details: { from: c0, to: c1, approvalsWithdrawn: 1 },
      });

      // On GitHub: the deployment of the old commit goes inactive, one of the new commit waits.
      await eventually('GitHub to hear of the move', () => github.deploymentsOf(row.id).length === 2);
      const states = await eventually('both reports', () => {
        const list = statesOf(row.id);
        return list[1]?.length ? list : undefined;
      });
      expect(states).toEqual([['pending', 'inactive'], ['pending']]);
      expect(github.deploymentsOf(row.id).map((d) => d.sha)).toEqual([c0, c1]);

      // The same head again: nothing to move.
      const same = await push('review', c1);
      expect(same.body.outcome.results.find((r) => r.environment === 'qa')).toMatchObject({
        outcome: 'skipped',
        reason: expect.stringMatching(/already awaiting approval/),
      });
      const extra = same.body.outcome.results.find((r) => r.environment === 'demo');
      if (extra?.deployment) await api.waitFor(extra.deployment.id, ended);
    });
  });

  describe('do_nothing', () => {
    beforeAll(async () => {
      await githubProject('docs', [{ name: 'preview', commit_behavior: 'do_nothing' }]);
      await githubProject('envoyer', [{ name: 'production', tier: 'production' }], { pushToDeploy: true });
    });

    const pending = async (project: string, environment: string) => {
      const reply = await api.call<{
        live_commit: string | null;
        commits: { sha: string; pushed_by: string }[];
      }>('GET', `/api/v1/projects/${project}/environments/${environment}/pending_commits`, { token: admin });
      expect(reply.status, reply.text).toBe(200);
      return reply.body;
    };

    it('records the pushed commits as pending; a forced push replaces them, a deletion empties them; a build ships them', async () => {
      const pushed = await push('docs', c1, { commits: [c0, c1] });
      expect(pushed.body.outcome.results[0]).toMatchObject({
        behaviour: 'do_nothing',
        outcome: 'recorded',
        pending: 2,
      });
      expect((await pending('docs', 'preview')).commits.map((c) => c.sha)).toEqual([c0, c1]);
      expect(
        await database.query(
          `select id from deployments d where d.project_id = (select id from projects where name = 'docs')`,
        ),
      ).toEqual([]);

      // History rewritten: the old commits are no longer on the branch.
      await push('docs', c0, { forced: true, commits: [c0] });
      expect((await pending('docs', 'preview')).commits.map((c) => c.sha)).toEqual([c0]);

      const deletion = githubExample('push', (example) => example.deleted);
      deletion.ref = 'refs/heads/main';
      deletion.repository.full_name = 'Acme/docs';
      const deleted = await deliverToSlipway<PushReply>(api.stack.url, SECRET, 'push', deletion);
      expect(deleted.body.outcome.results[0]).toMatchObject({
        outcome: 'skipped',
        reason: expect.stringMatching(/deleted/),
      });
      expect((await pending('docs', 'preview')).commits).toEqual([]);

      await push('docs', c1, { commits: [c0, c1], sender: 'grace' });
      const built = await api.call<{ deployment: { id: string; commit_hash: string } }>(
        'POST',
        '/api/v1/projects/docs/environments/preview/build',
        // preview is a staging tier: its "warn" test gate asks a person to confirm a commit without results.
        { token: admin, body: { confirm: true } },
      );
      expect(built.status, built.text).toBe(202);
      const deployment = await api.waitFor(built.body.deployment.id, ended);
      expect(deployment).toMatchObject({ status: 'finished', commitHash: c1 });
      expect(await pending('docs', 'preview')).toMatchObject({ live_commit: c1, commits: [] });
    });

    it("answers 500 when it could not act, and forgets the delivery so that GitHub's redelivery runs it", async () => {
      // The database refuses the work (a table is gone for a moment).
      await database.query('alter table pending_commits rename to pending_commits_away');
      let failed: Awaited<ReturnType<typeof push>>;
      try {
        failed = await push('docs', c0, { forced: true, commits: [c0] });
      } finally {
        await database.query('alter table pending_commits_away rename to pending_commits');
      }
      expect(failed.status).toBe(500);
      expect(JSON.stringify(failed.body)).toMatch(/Redeliver it/);
      const redelivered = await push('docs', c0, { forced: true, commits: [c0], delivery: failed.delivery });
      expect(redelivered.status).toBe(200);
      expect(redelivered.body.duplicate).toBeUndefined();
      expect(redelivered.body.outcome.results[0]).toMatchObject({ outcome: 'recorded', pending: 1 });
      expect((await push('docs', c0, { delivery: failed.delivery })).body.duplicate).toBe(true);
    });

    it("takes Envoyer's push_to_deploy as create_new_build, through production's block test gate", async () => {
      // Before CI has passed, production's "block" gate refuses the push, and says why.
      const untested = await push('envoyer', c1);
      expect(untested.body.outcome.results[0]).toMatchObject({
        behaviour: 'create_new_build',
        outcome: 'refused',
        reason: expect.stringMatching(/has no test results, and envoyer's production test gate is "block"/),
      });
      const passed = githubExample('status');
      expect(passed.state).toBe('success');
      passed.sha = c1;
      passed.repository.full_name = 'Acme/envoyer';
      expect((await deliverToSlipway(api.stack.url, SECRET, 'status', passed)).status).toBe(200);

      const pushed = await push('envoyer', c1);
      expect(pushed.body.outcome.results[0]).toMatchObject({
        behaviour: 'create_new_build',
        outcome: 'deployed',
      });
      const deployment = await api.waitFor(pushed.body.outcome.results[0]!.deployment!.id, ended);
      expect(deployment.status).toBe('finished');
      await eventually('GitHub to hear of it', () => statesOf(deployment.id)[0]?.includes('success'));
      expect(github.deploymentsOf(deployment.id)[0]).toMatchObject({
        environment: 'production',
        production_environment: true,
      });
    });
  });

  describe('CI results', () => {
    beforeAll(() =>
      githubProject('gated', [
        { name: 'staging', commit_behavior: 'create_new_build' },
        { name: 'production', tier: 'production' },
      ]),
    );

    const promote = () =>
      api.call<{ message?: string; test_gate?: { state: string } }>(
        'POST',
        '/api/v1/projects/gated/environments/staging/promote',
        { token: admin, body: { targetStage: 'production' } },
      );
    const ci = <N extends 'check_run' | 'check_suite' | 'status'>(name: N, payload: GitHubPayload<N>) =>
      deliverToSlipway<{ outcome: { projects: string[]; state: string } }>(
        api.stack.url,
        SECRET,
        name,
        payload,
      );

    it('become the commit statuses the test gates read: a failure blocks a gated promote, a success unblocks it', async () => {
      const pushed = await push('gated', c1);
      const staging = pushed.body.outcome.results.find((r) => r.environment === 'staging');
      await api.waitFor(staging!.deployment!.id, ended);

      const queued = githubExample(
        'check_run',
        (e) => e.action === 'created' && e.check_run.status === 'queued',
      );
      queued.check_run.head_sha = c1;
      queued.repository.full_name = 'Acme/gated';
      expect((await ci('check_run', queued)).body.outcome).toMatchObject({
        projects: ['gated'],
        state: 'pending',
      });
      const waiting = await promote();
      expect(waiting.status).toBe(400);
      expect(waiting.body.message).toMatch(
        new RegExp(`Waiting for CI on ${c1.slice(0, 7)} \\(Octocoders-linter still running\\)`),
      );

      const failed = githubExample(
        'check_run',
        (e) => e.action === 'completed' && e.check_run.conclusion === 'failure',
      );
      failed.check_run.head_sha = c1;
      failed.repository.full_name = 'Acme/gated';
      expect((await ci('check_run', failed)).body.outcome.state).toBe('failure');
      const suite = githubExample(
        'check_suite',
        (e) => e.action === 'completed' && e.check_suite.app?.slug === 'github-actions',
      );
      suite.check_suite.head_sha = c1;
      suite.repository.full_name = 'Acme/gated';
      expect((await ci('check_suite', suite)).body.outcome.state).toBe('success');
      const status = githubExample('status');
      status.sha = c1;
      status.repository.full_name = 'Acme/gated';
      expect((await ci('status', status)).body.outcome.state).toBe('success');
      const blocked = await promote();
      expect(blocked.status).toBe(400);
      expect(blocked.body.message).toMatch(/failed its tests, and gated's production test gate is "block"/);

      const passed = githubExample(
        'check_run',
        (e) => e.action === 'completed' && e.check_run.conclusion === 'success',
      );
      passed.check_run.head_sha = c1;
      passed.repository.full_name = 'Acme/gated';
      await ci('check_run', passed);
      const statuses = await api.call<{
        state: string;
        statuses: { context: string; state: string; reported_by: string }[];
      }>('GET', `/api/v1/projects/gated/commits/${c1}/statuses`, { token: admin });
      expect(statuses.body.state).toBe('success');
      expect(statuses.body.statuses.map((s) => `${s.context}:${s.state}`).sort()).toEqual([
        'Octocoders-linter:success',
        'default:success',
        'github-actions:success',
      ]);
      expect(statuses.body.statuses.every((s) => s.reported_by.startsWith('github:'))).toBe(true);
      const promoted = await promote();
      expect(promoted.status, promoted.text).toBe(202);
      expect(promoted.body.test_gate?.state).toBe('success');
    });
  });
});
