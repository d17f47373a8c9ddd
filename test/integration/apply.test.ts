// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the files under test use ${NAME} for environment variables
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationSenders } from '../../adapters/index.js';
import { loadConfig } from '../../src/config.js';
import { parseConfig } from '../../src/core/config-apply/index.js';
import { targetRulesOf } from '../../src/core/notifications/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runSlipway } from '../support/service-process.js';

/** The platforms' target rules, as `slipway apply` reads them from the adapters. */
const targets = targetRulesOf(notificationSenders(loadConfig({})));

const ROOT = resolve(import.meta.dirname, '../..');

/** The real CLI in a child process, on the test database; resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string>) {
  const child = runSlipway(args, env);
  const { code } = await child.exited;
  return { code, output: child.output() };
}

describe('slipway apply (the real CLI)', () => {
  let database: TestDatabase;
  let repo: FixtureRepository;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    repo = await createFixtureRepository();
    dir = await mkdtemp(join(tmpdir(), 'slipway-apply-'));
    env = {
      DATABASE_URL: database.url,
      SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
      LOG_FORMAT: 'json',
      SLACK_HOOK_URL: 'https://hooks.example.test/services/T1/B1/secret-part',
    };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await repo?.cleanup();
    await database?.drop();
  });

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    return writeFile(path, text).then(() => path);
  };

  const shop = (extra = '') => `version: 1
projects:
  - name: shop
    repository: ${repo.path}
    branch: main
    releases_to_keep: 4
    linked_folders:
      - { from: storage, to: storage }
    servers:
      - name: box
        transport: local
        deploy_path: ./deploys/box
      - name: web-1
        host: 10.0.0.5
        user: deploy
        deploy_path: /srv/shop
    environments:
      - name: staging
        tier: staging
        servers: [box]
      - name: production
        tier: production
        servers: [web-1]
        approvals: { required: 2, approver_role: admin }
    hooks:
      - name: migrate
        action: activate
        timing: before
        script: echo migrating "\${SLIPWAY_RELEASE}"
    members:
      - { user: "slack:T1:U1", name: Ada, role: admin }
      - { user: "web:local:bob", role: deployer }
    notifications:
      - name: ops
        type: slack
        webhook_url: \${SLACK_HOOK_URL}
        events: [deployment.*]
${extra}`;

  it('plans, applies with --yes, and a second apply changes nothing', async () => {
    const path = await file('slipway.yml', shop());
    const planned = await cli(['apply', '-f', path], env);
    expect(planned.code, planned.output).toBe(0);
    expect(planned.output).toContain('+ project shop');
    expect(planned.output).toContain('+ server shop/box');
    expect(planned.output).toContain('+ environment shop/production');
    expect(planned.output).toContain('run again with --yes');
    expect(planned.output).not.toContain('secret-part');
    expect(await database.query('select name from projects')).toEqual([]);

    const applied = await cli(['apply', '-f', path, '--yes'], env);
    expect(applied.code, applied.output).toBe(0);
    expect(applied.output).toMatch(/Applied 10 changes/);
    const servers = await database.query<{ name: string; transport: string; deploy_path: string }>(
      'select name, transport, deploy_path from servers order by name',
    );
    expect(servers).toEqual([
      { name: 'box', transport: 'local', deploy_path: join(dir, 'deploys/box') },
      { name: 'web-1', transport: 'ssh', deploy_path: '/srv/shop' },
    ]);
    const production = await database.query(
      `select approvals_required, approver_role from environments where name = 'production'`,
    );
    expect(production).toEqual([{ approvals_required: 2, approver_role: 'admin' }]);
    const roles = await database.query<{ display_name: string; role: string }>(
      'select m.display_name, r.role from project_roles r join members m on m.id = r.member_id order by m.display_name',
    );
    expect(roles).toEqual([
      { display_name: 'Ada', role: 'admin' },
      { display_name: 'bob', role: 'deployer' },
    ]);
    const channels = await database.query<{ target: string; target_hint: string }>(
      'select target, target_hint from notification_channels',
    );
    expect(channels).toHaveLength(1);
    expect(channels[0]!.target).not.toContain('secret-part');
    const audit = await database.query<{ actor_name: string; source: string }>(
      `select distinct actor_name, source from audit_events where action = 'project.create'`,
    );
    expect(audit[0]).toMatchObject({ source: 'cli' });
    expect(audit[0]!.actor_name).toMatch(/^cli \(/);

    const again = await cli(['apply', '-f', path, '--yes'], env);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('no changes; Slipway already matches it');
    expect(again.output).not.toContain('Applied');
  }, 120_000);

  it('shows what an edited file changes, deletes only with --prune', async () => {
    const edited = shop()
      .replace('releases_to_keep: 4', 'releases_to_keep: 6')
      .replace('approvals: { required: 2, approver_role: admin }', 'approvals: { required: 1 }')
      .replace(/ {6}- name: web-1\n.*\n.*\n.*\n/, '')
      .replace('servers: [web-1]', 'servers: [box]')
      .replace('{ user: "web:local:bob", role: deployer }', '{ user: "web:local:bob", role: approver }');
    const path = await file('edited.yml', edited);
    const plan = await cli(['apply', '-f', path], env);
    expect(plan.code, plan.output).toBe(0);
    expect(plan.output).toContain('~ project shop');
    expect(plan.output).toContain('releases_to_keep: 4 → 6');
    expect(plan.output).toContain('~ environment shop/production');
    expect(plan.output).toContain('approvals.required: 2 → 1');
    expect(plan.output).toContain('servers: web-1 → box');
    expect(plan.output).toContain('role: deployer → approver');
    expect(plan.output).not.toContain('- server');
    const applied = await cli(['apply', '-f', path, '--yes'], env);
    expect(applied.code, applied.output).toBe(0);
    expect(await database.query(`select name from servers order by name`)).toEqual([
      { name: 'box' },
      { name: 'web-1' },
    ]);

    const pruned = await cli(['apply', '-f', path, '--yes', '--prune'], env);
    expect(pruned.code, pruned.output).toBe(0);
    expect(pruned.output).toContain('- server shop/web-1');
    expect(await database.query(`select name from servers order by name`)).toEqual([{ name: 'box' }]);
    const noop = await cli(['apply', '-f', path, '--prune'], env);
    expect(noop.output).toContain('no changes');
  }, 120_000);

  it('refuses an invalid file with every error and its line, and changes nothing', async () => {
    const before = await database.query('select count(*)::int as n from audit_events');
    const path = await file(
      'broken.yml',
      [
        'version: 1', // 1
        'projects:', // 2
        '  - name: shop', // 3
        '    repository: /tmp/x', // 4
        '    colour: blue', // 5
        '    servers:', // 6
        '      - name: box', // 7
        '        host: 10.0.0.1', // 8
        '        port: seventy', // 9
        '        user: deploy', // 10
        '        deploy_path: /srv/x', // 11
        '    environments:', // 12
        '      - name: staging', // 13
        '        tier: galactic', // 14
        '        servers: [box]', // 15
        '        branch: "main;reboot"', // 16
        '',
      ].join('\n'),
    );
    const result = await cli(['apply', '-f', path, '--yes'], env);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`${path}:5:5: projects[0].colour: unknown field "colour"`);
    expect(result.output).toMatch(
      new RegExp(`${path}:9:15: projects\\[0\\]\\.servers\\[0\\]\\.port: port must be a number`),
    );
    expect(result.output).toMatch(
      new RegExp(`${path}:14:15: projects\\[0\\]\\.environments\\[0\\]\\.tier: tier must be one of`),
    );
    expect(result.output).toMatch(new RegExp(`${path}:16:17: .*branch: Refusing ref "main;reboot"`));
    expect(result.output).toContain('4 errors; nothing was changed');
    expect(await database.query('select count(*)::int as n from audit_events')).toEqual(before);
  }, 60_000);
});

describe('slipway token (the real CLI)', () => {
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url, SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64') };
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('creates a token printed alone on stdout, lists it and revokes it; --help lists the commands', async () => {
    const help = await cli(['--help'], env);
    expect(help.output).toContain('apply -f <file> [--yes] [--prune]');
    expect(help.output).toContain('token create --scopes');
    const child = runSlipway(
      [
        'token',
        'create',
        '--scopes',
        'deployments:create,hooks:create',
        '--member',
        'web:local:ci',
        '--name',
        'ci',
      ],
      env,
    );
    let stdout = '';
    child.child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    expect((await child.exited).code, child.output()).toBe(0);
    expect(stdout).toMatch(/^slw_[A-Za-z0-9_-]{43}\n$/);
    const rows = await database.query<{ scopes: string[]; token_hash: string; prefix: string }>(
      'select scopes, token_hash, prefix from api_tokens',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.scopes).toEqual(['deployments:create', 'hooks:create']);
    expect(rows[0]!.token_hash).not.toBe(stdout.trim());
    const list = await cli(['token', 'list'], env);
    expect(list.output).toContain(`${rows[0]!.prefix}…  ci  ci  active  deployments:create,hooks:create`);
    const revoked = await cli(['token', 'revoke', rows[0]!.prefix], env);
    expect(revoked.code, revoked.output).toBe(0);
    expect((await cli(['token', 'list'], env)).output).toContain('revoked');
    const bad = await cli(['token', 'create', '--scopes', 'everything', '--member', 'web:local:ci'], env);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('Unknown scope everything');
  }, 60_000);
});

describe('slipway.yml checks (in process)', () => {
  it('reports rules between fields with their lines, and YAML syntax errors', () => {
    const text = [
      'projects:', // 1
      '  - name: a', // 2
      '    repository: ./repo', // 3
      '    servers:', // 4
      '      - { name: s, transport: local, deploy_path: /d }', // 5
      '      - { name: s, transport: ssh, deploy_path: relative/path }', // 6
      '    environments:', // 7
      '      - { name: e, servers: [s, ghost] }', // 8
      '    hooks:', // 9
      '      - { name: h, action: activate, timing: after, script: "true", servers: [nope] }', // 10
      '    linked_folders:', // 11
      '      - { from: ../up, to: x }', // 12
      '    notifications:', // 13
      '      - { name: n, type: webhook, webhook_url: "${MISSING_VAR}" }', // 14
      '      - { name: m, type: webhook, webhook_url: "https://hooks.example.test/in" }', // 15
      '  - name: b', // 16
      '    repository: ./repo', // 17
      '    linked_folders:', // 18
      '      - { from: config, to: .env }', // 19
      '      - { from: .env, to: config }', // 20
      '',
    ].join('\n');
    const loaded = parseConfig(text, '/tmp/x/slipway.yml', { env: {}, targets });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const lines = loaded.errors.map((e) => `${e.line}: ${e.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        '6: server "s" appears twice',
        expect.stringMatching(/^6: deploy_path must be an absolute path on the server/),
        expect.stringMatching(/^6: host is required/),
        '8: server "ghost" is not declared under this project\'s servers',
        '10: server "nope" is not declared under this project\'s servers',
        expect.stringMatching(/^12: Refusing linked folder "..\/up"/),
        '14: ${MISSING_VAR}: the environment variable MISSING_VAR is not set',
        '15: a webhook channel needs a secret to sign its requests with',
        // Issue 14, item 13: the env file's name is not a linked folder's.
        expect.stringMatching(/^19: Refusing shared folder ".env": .env is where Slipway writes/),
        expect.stringMatching(/^20: Refusing linked folder ".env": .env is where Slipway writes/),
      ]),
    );
    const syntax = parseConfig('projects:\n  - name: a\n   bad: [1, 2\n', 'f.yml', { env: {}, targets });
    expect(syntax.ok).toBe(false);
    if (!syntax.ok) expect(syntax.errors[0]!.line).toBeGreaterThan(1);
  });

  it('reads the example file, with its paths relative to it', async () => {
    const path = join(ROOT, 'examples', 'slipway.yml');
    const loaded = parseConfig(await readFile(path, 'utf8'), path, { env: {}, targets });
    expect(loaded.ok, JSON.stringify(loaded)).toBe(true);
    if (!loaded.ok) return;
    const [demo] = loaded.config.projects;
    expect(demo?.repository).toBe(ROOT);
    expect(demo?.servers?.map((s) => s.deploy_path)).toEqual([
      join(ROOT, '.slipway/demo/staging'),
      join(ROOT, '.slipway/demo/production'),
    ]);
  });
});
