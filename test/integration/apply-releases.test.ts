import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config-apply/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { startChatSlipway } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** slipway.yml sets freeze windows, health-check URLs and pipelines, through the same services as REST. */
describe('slipway apply: freezes, health checks and pipelines', () => {
  let database: TestDatabase;
  let repo: FixtureRepository;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  const actor = { memberId: null, name: 'cli (test)', source: 'cli' };

  beforeAll(async () => {
    database = await createTestDatabase();
    repo = await createFixtureRepository();
    stack = await startChatSlipway(database, {});
  });
  afterAll(async () => {
    await stack?.stop();
    await repo?.cleanup();
    await database?.drop();
  });

  const file = (
    extra: { freeze?: string; pipelineSteps?: string; pipelines?: false | 'none' } = {},
  ) => `version: 1
projects:
  - name: api
    repository: ${repo.path}
    servers:
      - name: web-1
        host: 10.0.0.1
        user: deploy
        deploy_path: /srv/api
    environments:
      - name: staging
        tier: staging
        servers: [web-1]
        health_check_url: https://staging.api.example.test/health
      - name: production
        tier: production
        servers: [web-1]
        freeze_windows:
${
  extra.freeze ??
  `          - start: "0 18 * * 5"
            end: "0 8 * * 1"
            timezone: Europe/Paris
            reason: weekend
          - from: 2026-12-24T00:00:00Z
            until: 2026-12-27T00:00:00Z
            reason: holidays`
}
${
  extra.pipelines === false
    ? ''
    : extra.pipelines === 'none'
      ? '    pipelines: []'
      : `    pipelines:
      - name: release
        signing_secret: \${RELEASE_SECRET}
        stages:
          - environment: staging
          - environment: production
            steps:
${
  extra.pipelineSteps ??
  `              - confirmation: {role: approver}
              - run-smoke: {command: "curl -fsS https://api.example.com/health"}
              - webhook-trigger: {url: "https://ci.example.com/hooks/after-prod"}`
}`
}
`;
  const env = { RELEASE_SECRET: 'a-secret-of-at-least-16-chars' };
  const load = (text: string) => {
    const loaded = parseConfig(text, 'slipway.yml', {
      targets: stack.slipway.services.channels.targetRules,
      env,
    });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    return loaded.config;
  };
  const plan = async (text: string, prune = false) =>
    stack.slipway.services.planner.plan(load(text), 'slipway.yml', { prune });
  const apply = async (text: string, prune = false) => {
    const planned = await plan(text, prune);
    const outcome = await stack.slipway.services.planner.apply(planned, actor);
    expect(outcome.failed?.error.message ?? null).toBeNull();
    return planned.changes.map(
      (c) => `${c.action} ${c.kind} ${c.name}${c.details.length ? `: ${c.details.join('; ')}` : ''}`,
    );
  };

  it('creates them, and a second apply plans nothing', async () => {
    const changes = await apply(file());
    expect(changes).toContain(
      'create environment production: tier production, branch main, servers web-1; freeze windows: 2',
    );
    expect(changes.at(-1)).toBe('create pipeline release: staging → production');
    const { services } = stack.slipway;
    const staging = await services.environments.get('api', 'staging');
    expect(staging.healthCheckUrl).toBe('https://staging.api.example.test/health');
    const windows = await services.freezes.list('api', 'production');
    expect(
      windows.map((w) => [w.cronStart, w.cronEnd, w.timezone, w.startsAt?.toISOString() ?? null, w.reason]),
    ).toEqual([
      ['0 18 * * 5', '0 8 * * 1', 'Europe/Paris', null, 'weekend'],
      [null, null, 'UTC', '2026-12-24T00:00:00.000Z', 'holidays'],
    ]);
    const release = await services.pipelines.get('api', 'release');
    expect(release.stages.map((s) => [s.environment, s.steps.map((step) => step.kind)])).toEqual([
      ['staging', ['deploy']],
      ['production', ['confirmation', 'deploy', 'run-smoke', 'webhook-trigger']],
    ]);
    expect(await services.pipelines.secretIs('api', 'release', env.RELEASE_SECRET)).toBe(true);
    expect((await plan(file())).changes).toEqual([]);
  });

  it('shows and makes edits; deletes a pipeline only with --prune', async () => {
    const edited = file({
      freeze: `          - start: "0 23 * * *"
            duration_minutes: 120`,
      pipelineSteps: `              - confirmation: {users: ["slack:T1:U2"]}`,
    });
    expect(await apply(edited)).toEqual([
      'update environment production: freeze windows: 2 → 1',
      'update pipeline release: steps of production changed',
    ]);
    const release = await stack.slipway.services.pipelines.get('api', 'release');
    expect(release.stages[1]!.steps).toEqual([
      { kind: 'confirmation', config: { users: ['slack:T1:U2'] } },
      { kind: 'deploy', config: {} },
    ]);
    const freeze = '          - start: "0 23 * * *"\n            duration_minutes: 120';
    // A file without a pipelines list leaves pipelines alone, even with --prune …
    expect(await apply(file({ pipelines: false, freeze }), true)).toEqual([]);
    // … an empty list deletes them with --prune only.
    const none = file({ pipelines: 'none', freeze });
    expect(await apply(none)).toEqual([]);
    expect(await apply(none, true)).toEqual(['delete pipeline release']);
    expect(await stack.slipway.services.pipelines.list('api')).toEqual([]);
  });

  it('refuses a bad freeze window or pipeline with the line it is on, before touching anything', () => {
    const text = file({
      freeze: `          - start: "every friday"
            duration_minutes: 60`,
      pipelineSteps: `              - confirmation: {role: approver, users: ["slack:T1:U2"]}`,
    }).replace('- environment: staging\n', '- environment: qa\n');
    const loaded = parseConfig(text, 'slipway.yml', {
      targets: stack.slipway.services.channels.targetRules,
      env,
    });
    expect(loaded.ok).toBe(false);
    const errors = loaded.ok ? [] : loaded.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`);
    expect(errors).toEqual([
      expect.stringMatching(
        /^19: projects\[0\]\.environments\[1\]\.freeze_windows\[0\]\.start: "every friday" is not a crontab schedule/,
      ),
      `25: projects[0].pipelines[0].stages[0].environment: environment "qa" is not declared under this project's environments`,
      '28: projects[0].pipelines[0].stages[1].steps[0].confirmation: a confirmation names a role or users, one of them',
    ]);
  });
});
