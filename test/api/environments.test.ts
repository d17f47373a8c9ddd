import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEvent, Deployment, Environment } from '../../src/db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

type Env = {
  id: string;
  name: string;
  state: string;
  tier: string;
  servers: string[];
  cloned_from: string | null;
  commit_behavior: string;
  last_deployment?: { id: string; status: string } | null;
  [key: string]: unknown;
};
type Errors = { errors: Record<string, string[]>; message: string; error: string };

const DAY = 24 * 3600_000;

describe('REST API: environments (GitLab) and promotions (the promotion platform)', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let dev: string;
  const base = '/api/v1/projects/app/environments';

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    root = await api.rootToken();
    await api.project(
      root,
      'app',
      [
        { name: 'development', tier: 'development', servers: ['box-dev'] },
        { name: 'staging', tier: 'staging', servers: ['box-stg'] },
        { name: 'production', tier: 'production', servers: ['box-prd'] },
      ],
      ['box-dev', 'box-stg', 'box-prd', 'box-review'],
      // These tests are about the test gates: no CI has reported on any commit yet.
      { green: false },
    );
    dev = await api.token('dev', 'all', [{ project: 'app', role: 'deployer' }]);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  const get = <T = Env>(path: string, token = dev) => api.call<T>('GET', path, { token });

  it('creates environments with GitLab fields, and refuses an unknown tier with 422', async () => {
    const created = await api.call<Env>('POST', base, {
      token: root,
      body: {
        name: 'qa',
        tier: 'testing',
        external_url: 'https://qa.example.test',
        description: 'For QA',
        servers: ['box-review'],
        auto_stop_setting: 'with_action',
        approvals_required: 2,
        approver_role: 'admin',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'qa',
      slug: 'qa',
      tier: 'testing',
      state: 'available',
      external_url: 'https://qa.example.test',
      servers: ['box-review'],
      auto_stop_setting: 'with_action',
      approvals_required: 2,
      approver_role: 'admin',
      last_deployment: null,
    });
    const badTier = await api.call<Errors>('POST', base, {
      token: root,
      body: { name: 'uat', tier: 'galactic' },
    });
    expect(badTier.status).toBe(422);
    expect(badTier.body.errors.tier?.[0]).toMatch(/tier must be one of production, staging/);
    const badServer = await api.call<Errors>('POST', base, {
      token: root,
      body: { name: 'uat', servers: ['nope'] },
    });
    expect(badServer.status).toBe(422);
    expect(badServer.body.errors.servers?.[0]).toContain('no server "nope"');
    const duplicate = await api.call('POST', base, { token: root, body: { name: 'qa' } });
    expect(duplicate.status).toBe(409);
    const byDeployer = await api.call('POST', base, { token: dev, body: { name: 'mine' } });
    expect(byDeployer.status).toBe(403);
    expect(await api.stack.em().count(Environment, { name: { $in: ['uat', 'mine'] } })).toBe(0);
  });

  it("filters the list by name, search (at least 3 characters) and state, as GitLab's", async () => {
    const all = await get<Env[]>(base);
    expect(all.body.map((e) => e.name)).toEqual(['development', 'production', 'qa', 'staging']);
    expect((await get<Env[]>(`${base}?name=staging`)).body.map((e) => e.name)).toEqual(['staging']);
    expect((await get<Env[]>(`${base}?search=DUCT`)).body.map((e) => e.name)).toEqual(['production']);
    expect((await get<Env[]>(`${base}?search=%25%25%25`)).body).toEqual([]);
    const short = await get<Errors>(`${base}?search=qa`);
    expect(short.status).toBe(422);
    expect(short.body.errors.search).toEqual(['search must be at least 3 characters long']);
    const both = await get<Errors>(`${base}?name=qa&search=qa-x`);
    expect(both.status).toBe(422);
    expect(both.body.errors.search?.[0]).toMatch(/cannot be used together/);
    expect((await get<Errors>(`${base}?states=sleeping`)).status).toBe(422);
    expect((await get<Env[]>(`${base}?states=stopped`)).body).toEqual([]);
  });

  it('updates an environment, but not its name', async () => {
    const updated = await api.call<Env>('PUT', `${base}/qa`, {
      token: root,
      body: { external_url: 'https://qa2.example.test', tier: 'staging', description: null },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      external_url: 'https://qa2.example.test',
      tier: 'staging',
      description: null,
    });
    const renamed = await api.call<Errors>('PUT', `${base}/qa`, { token: root, body: { name: 'qa2' } });
    expect(renamed.status).toBe(422);
    const byId = await get(`${base}/${updated.body.id}`);
    expect(byId.body.name).toBe('qa');
  });

  it('deletes only a stopped environment (400 otherwise), and stop cancels what waits', async () => {
    const refused = await api.call<Errors>('DELETE', `${base}/qa`, { token: root });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'refused' });
    expect(refused.body.message).toMatch(/stop it before deleting/);
    expect((await get(`${base}/qa`)).status).toBe(200);

    const approver = await api.token('qa-dev', 'all', [{ project: 'app', role: 'deployer' }]);
    const waiting = await api.call<{ deployment: { id: string; number: number; status: string } }>(
      'POST',
      '/api/v1/projects/app/deployments',
      // qa is a staging environment by now (see above), whose gate is "warn": confirmed.
      { token: approver, body: { environment: 'qa', confirm: true } },
    );
    expect(waiting.status, waiting.text).toBe(201);
    expect(waiting.body.deployment.status).toBe('awaiting_approval');
    const stopped = await api.call<Env & { cancelled_deployments: number[]; destroyed: boolean }>(
      'POST',
      `${base}/qa/stop`,
      { token: dev },
    );
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ state: 'stopped', destroyed: false });
    expect(stopped.body.cancelled_deployments).toEqual([waiting.body.deployment.number]);
    const afterStop = await api.call('POST', '/api/v1/projects/app/deployments', {
      token: approver,
      body: { environment: 'qa' },
    });
    expect(afterStop.status).toBe(409);
    expect((await get<Env[]>(`${base}?states=stopped`)).body.map((e) => e.name)).toEqual(['qa']);
    const gone = await api.call('DELETE', `${base}/qa`, { token: root });
    expect(gone.status).toBe(204);
    expect((await get(`${base}/qa`)).status).toBe(404);
  });

  it('stop_stale takes a date between 10 years and 1 week ago, and spares production', async () => {
    const stale = '/api/v1/projects/app/environments/stop_stale';
    for (const before of [
      new Date(Date.now() - DAY).toISOString(),
      new Date(Date.now() - 11 * 365 * DAY).toISOString(),
      'yesterday-ish',
    ]) {
      const reply = await api.call<Errors>('POST', `${stale}?before=${encodeURIComponent(before)}`, {
        token: root,
      });
      expect(reply.status, before).toBe(422);
      expect(Object.keys(reply.body.errors)).toEqual(['before']);
    }
    expect((await api.call<Errors>('POST', stale, { token: root })).status).toBe(422);
    // A development environment and production, both untouched for 60 days.
    await api.call('POST', base, { token: root, body: { name: 'old-dev', tier: 'development' } });
    await api.call('POST', base, { token: root, body: { name: 'old-prod', tier: 'production' } });
    await database.query(
      `update environments set updated_at = now() - interval '60 days' where name in ('old-dev', 'old-prod')`,
    );
    const before = new Date(Date.now() - 30 * DAY).toISOString();
    const reply = await api.call<{ stopped: string[]; message: string }>(
      'POST',
      `${stale}?before=${encodeURIComponent(before)}`,
      { token: root },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.stopped).toEqual(['old-dev']);
    expect(reply.body.message).toBe('Successfully requested stop for all stale environments');
    expect((await get(`${base}/old-prod`)).body.state).toBe('available');
    // One production environment is enough for the promotions below.
    await api.call('POST', `${base}/old-prod/stop`, { token: dev });
    expect((await api.call('DELETE', `${base}/old-prod`, { token: root })).status).toBe(204);
    expect(
      (await api.call('POST', `${stale}?before=${encodeURIComponent(before)}`, { token: dev })).status,
    ).toBe(403);
  });

  it('clones onto a new branch, and cleans up stopped review apps (dry run by default)', async () => {
    const clone = await api.call<Env>('POST', `${base}/staging/clone`, {
      token: dev,
      body: { targetBranch: 'feature/login', servers: ['box-review'] },
    });
    expect(clone.status).toBe(201);
    expect(clone.body).toMatchObject({
      name: 'staging-feature-login',
      branch: 'feature/login',
      tier: 'development',
      cloned_from: 'staging',
      servers: ['box-review'],
      auto_destroy: false,
    });
    const badBranch = await api.call<Errors>('POST', `${base}/staging/clone`, {
      token: dev,
      body: { targetBranch: 'x;reboot' },
    });
    expect(badBranch.status).toBe(422);
    expect(badBranch.body.errors.targetBranch?.[0]).toMatch(/shell metacharacter/);

    await api.call('POST', `${base}/staging-feature-login/stop`, { token: dev });
    await database.query(
      `update environments set updated_at = now() - interval '40 days' where name = 'staging-feature-login'`,
    );
    const reviewApps = '/api/v1/projects/app/environments/review_apps';
    const dry = await api.call<{ scheduled_entries: { name: string }[]; dry_run: boolean }>(
      'DELETE',
      reviewApps,
      { token: root },
    );
    expect(dry.status).toBe(200);
    expect(dry.body.dry_run).toBe(true);
    expect(dry.body.scheduled_entries.map((e) => e.name)).toEqual(['staging-feature-login']);
    expect((await get(`${base}/staging-feature-login`)).status).toBe(200);
    // old-dev is stopped and old, but not a review app: never in the list.
    const recent = await api.call<{ scheduled_entries: unknown[] }>(
      'DELETE',
      `${reviewApps}?before=${encodeURIComponent(new Date(Date.now() - 50 * DAY).toISOString())}`,
      { token: root },
    );
    expect(recent.body.scheduled_entries).toEqual([]);
    expect((await api.call<Errors>('DELETE', `${reviewApps}?limit=0`, { token: root })).status).toBe(422);
    expect((await api.call<Errors>('DELETE', `${reviewApps}?dry_run=maybe`, { token: root })).status).toBe(
      422,
    );
    const real = await api.call<{ scheduled_entries: { name: string }[] }>(
      'DELETE',
      `${reviewApps}?dry_run=false&limit=10`,
      { token: root },
    );
    expect(real.body.scheduled_entries.map((e) => e.name)).toEqual(['staging-feature-login']);
    expect((await get(`${base}/staging-feature-login`)).status).toBe(404);
  });

  it('an auto-destroy clone is deleted when it is stopped', async () => {
    const clone = await api.call<Env>('POST', `${base}/staging/clone`, {
      token: dev,
      body: { targetBranch: 'fix-1', name: 'review-fix-1', autoDestroy: true, targetType: 'testing' },
    });
    expect(clone.body).toMatchObject({
      name: 'review-fix-1',
      tier: 'testing',
      auto_destroy: true,
      servers: [],
    });
    const stopped = await api.call<{ destroyed: boolean }>('POST', `${base}/review-fix-1/stop`, {
      token: dev,
    });
    expect(stopped.body.destroyed).toBe(true);
    expect((await get(`${base}/review-fix-1`)).status).toBe(404);
  });

  it('sets the commit behaviour, and builds pending commits of a do_nothing environment', async () => {
    const bad = await api.call<Errors>('PUT', `${base}/development/commit_behavior`, {
      token: root,
      body: { behavior: 'yolo' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.behavior?.[0]).toMatch(/do_nothing, create_new_build, update_previous_build/);
    // staging's test gate is "warn" and no CI reported: a build is a deploy, so it confirms.
    const warned = await api.call<Errors>('POST', `${base}/staging/build`, { token: dev });
    expect(warned.status).toBe(400);
    expect(warned.body.message).toMatch(/"warn": confirm to deploy anyway/);
    const build = await api.call<{ deployment: { id: string; commit_hash: string } }>(
      'POST',
      `${base}/staging/build`,
      { token: dev, body: { confirm: true } },
    );
    expect(build.status).toBe(202);
    expect(build.body.deployment.commit_hash).toBe(api.repo.commits[1]);
    expect((await api.waitFor(build.body.deployment.id, ended)).status).toBe('finished');
    const nothing = await api.call<Errors>('POST', `${base}/staging/build`, {
      token: dev,
      body: { confirm: true },
    });
    expect(nothing.status).toBe(400);
    expect(nothing.body.message).toMatch(/Nothing to build/);
    const set = await api.call<Env>('PUT', `${base}/development/commit_behavior`, {
      token: root,
      body: { behavior: 'create_new_build' },
    });
    expect(set.body.commit_behavior).toBe('create_new_build');
    const refused = await api.call<Errors>('POST', `${base}/development/build`, { token: dev });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/manual build is for do_nothing/);
    const staging = await get(`${base}/staging`);
    expect(staging.body.last_deployment).toMatchObject({ id: build.body.deployment.id, status: 'finished' });
  });

  it('promotes through the test gate: block refuses, forcePromote is admin-only and audited', async () => {
    const promote = (body: Record<string, unknown>, token = dev) =>
      api.call<
        {
          deployment: { id: string; forced: boolean; kind: string };
          direction: string;
          test_gate: { state: string };
        } & Errors
      >('POST', `${base}/staging/promote`, { token, body });
    const count = () => api.stack.em().count(Deployment, { environment: { name: 'production' } });
    const before = await count();
    const blocked = await promote({ targetStage: 'production' });
    expect(blocked.status).toBe(400);
    expect(blocked.body.message).toMatch(/has no test results, and app's production test gate is "block"/);
    const forcedByDeployer = await promote({ targetStage: 'production', forcePromote: true });
    expect(forcedByDeployer.status).toBe(403);
    expect(forcedByDeployer.body.message).toMatch(/admin role on app to force a promotion/);
    expect(await count()).toBe(before);
    expect((await promote({ targetStage: 'galaxy' })).status).toBe(422);

    const forced = await promote({ targetStage: 'production', forcePromote: true }, root);
    expect(forced.status).toBe(202);
    expect(forced.body.deployment).toMatchObject({ kind: 'promote', forced: true });
    expect(forced.body.direction).toBe('promote');
    expect((await api.waitFor(forced.body.deployment.id, ended)).status).toBe('finished');
    const audit = await api.stack.em().find(AuditEvent, { action: 'deployment.promote.force' });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({
      from: 'staging',
      to: 'production',
      tests: 'none',
      gate: 'block',
    });

    // CI reports the commit green: the gate passes without force.
    const sha = api.repo.commits[1]!;
    const reported = await api.call<{ state: string }>(
      'POST',
      `/api/v1/projects/app/commits/${sha}/statuses`,
      {
        token: dev,
        body: { state: 'success', context: 'ci/tests', target_url: 'https://ci.example.test/1' },
      },
    );
    expect(reported.status).toBe(201);
    expect(reported.body.state).toBe('success');
    const passed = await promote({ targetStage: 'production' });
    expect(passed.status).toBe(202);
    expect(passed.body.test_gate.state).toBe('success');
    expect(passed.body.deployment.forced).toBe(false);
    await api.waitFor(passed.body.deployment.id, ended);
    // A failing context fails the combined state again.
    await api.call('POST', `/api/v1/projects/app/commits/${sha}/statuses`, {
      token: dev,
      body: { state: 'failure', context: 'ci/lint' },
    });
    const statuses = await get<{ state: string; statuses: unknown[] }>(
      `/api/v1/projects/app/commits/${sha}/statuses`,
    );
    expect(statuses.body).toMatchObject({ state: 'failure' });
    expect(statuses.body.statuses).toHaveLength(2);

    // Gates passed for one commit never let another through: if the source's live commit
    // changed after the gate was read, the promotion is refused and nothing is created.
    const settled = await count();
    const stale = api.repo.commits[0]!;
    await expect(
      api.stack.slipway.services.deployments.requestPromote(
        { memberId: null, name: 'test', source: 'test' },
        { project: 'app', from: 'staging', to: 'production', expectedCommit: stale },
      ),
    ).rejects.toThrow(`staging changed while you promoted (${stale.slice(0, 8)} → ${sha.slice(0, 8)})`);
    expect(await count()).toBe(settled);
  });

  it('a warn gate asks to confirm; demotion works the same way', async () => {
    const gates = await api.call('PUT', '/api/v1/projects/app/test-gates', {
      token: root,
      body: { testGateStaging: 'warn', testGateProduction: 'block' },
    });
    expect(gates.body).toEqual({ testGateStaging: 'warn', testGateProduction: 'block' });
    expect(
      (
        await api.call('PUT', '/api/v1/projects/app/test-gates', {
          token: root,
          body: { testGateStaging: 'maybe', testGateProduction: 'block' },
        })
      ).status,
    ).toBe(422);
    // development runs v1.0.0, which has no test results.
    const tag = await api.call<{ deployment: { id: string } }>('POST', '/api/v1/projects/app/deployments', {
      token: dev,
      body: { environment: 'development', from: 'tag', tag: 'v1.0.0' },
    });
    await api.waitFor(tag.body.deployment.id, ended);
    const warned = await api.call<Errors>('POST', `${base}/development/promote`, {
      token: dev,
      body: { targetStage: 'staging' },
    });
    expect(warned.status, warned.text).toBe(400);
    expect(warned.body.message).toMatch(/"warn": confirm to promote anyway/);
    const confirmed = await api.call<{ deployment: { id: string }; direction: string }>(
      'POST',
      `${base}/development/promote`,
      { token: dev, body: { targetStage: 'staging', confirm: true } },
    );
    expect(confirmed.status).toBe(202);
    expect(confirmed.body.direction).toBe('promote');
    await api.waitFor(confirmed.body.deployment.id, ended);
    // Production → development is a demotion (development has no gate).
    const demoted = await api.call<{ direction: string; deployment: { id: string } }>(
      'POST',
      `${base}/production/promote`,
      { token: dev, body: { targetStage: 'development' } },
    );
    expect(demoted.status).toBe(202);
    expect(demoted.body.direction).toBe('demote');
    await api.waitFor(demoted.body.deployment.id, ended);
  });

  it('serves pipeline data by stage with 1 to 10 recent deployments', async () => {
    for (const value of ['0', '11', 'lots', '-1']) {
      const reply = await get<Errors>(`/api/v1/projects/app/pipeline?recentDeployments=${value}`);
      expect(reply.status, value).toBe(422);
      expect(Object.keys(reply.body.errors)).toEqual(['recentDeployments']);
    }
    type Pipeline = {
      testGates: Record<string, string>;
      stages: {
        stage: string;
        environments: {
          name: string;
          live_commit: string | null;
          test_status: string | null;
          recent_deployments: unknown[];
        }[];
      }[];
    };
    const one = await get<Pipeline>('/api/v1/projects/app/pipeline');
    expect(one.body.stages.map((s) => s.stage)).toEqual(['development', 'testing', 'staging', 'production']);
    const production = one.body.stages
      .find((s) => s.stage === 'production')!
      .environments.find((e) => e.name === 'production')!;
    expect(production.recent_deployments).toHaveLength(1);
    expect(production.live_commit).toBe(api.repo.commits[1]);
    expect(production.test_status).toBe('failure');
    const three = await get<Pipeline>('/api/v1/projects/app/pipeline?recentDeployments=3');
    const prod3 = three.body.stages
      .find((s) => s.stage === 'production')!
      .environments.find((e) => e.name === 'production')!;
    // Production has had two deployments (forced, then gated): three asked, both shown.
    expect(prod3.recent_deployments.length).toBe(
      await api.stack.em().count(Deployment, { environment: { name: 'production' } }),
    );
    expect(prod3.recent_deployments.length).toBe(2);
    expect(three.body.testGates).toEqual({ staging: 'warn', production: 'block' });
  });

  it('stops environments past their auto_stop_at (the sweep)', async () => {
    await api.call('POST', base, {
      token: root,
      body: { name: 'temp', tier: 'development', auto_stop_at: new Date(Date.now() - 1000).toISOString() },
    });
    const stopped = await api.slipway.services.environments.stopDue();
    expect(stopped).toEqual(['app/temp']);
    expect((await get(`${base}/temp`)).body).toMatchObject({ state: 'stopped', auto_stop_at: null });
  });
});
