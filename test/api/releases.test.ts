import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebConsoleAdapter } from '../../adapters/web/console.js';
import { Deployment } from '../../src/db/entities/index.js';
import { type ConsoleUser, consoleUser, replyText } from '../support/console-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

type DeploymentJson = { id: string; number: number; status: string; commit_hash: string | null };
type One = { deployment: DeploymentJson };

/**
 * Releases over the REST API and the web console, with the `local` transport: rollbacks that
 * are settled before they are recorded, and the live state they leave.
 */
describe('releases through the API and chat', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let dev: string;
  let admin: string;
  let devChat: ConsoleUser;
  let annChat: ConsoleUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    root = await api.rootToken();
    const web = api.slipway.adapters.find((a) => a.platform === 'web') as WebConsoleAdapter;
    const consoleService = { url: api.stack.url, signIn: api.slipway.services.consoleSignIn };
    devChat = await consoleUser(consoleService, 'dev', web);
    annChat = await consoleUser(consoleService, 'ann', web);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  let projects = 0;
  /** A project with staging on one local server and production on another; CI green on both fixture commits. */
  const project = async (green = true) => {
    const name = `app${++projects}`;
    await api.project(
      root,
      name,
      [
        { name: 'staging', tier: 'staging', servers: ['s1'] },
        { name: 'production', tier: 'production', servers: ['p1'] },
      ],
      ['s1', 'p1'],
      { green },
    );
    admin = await api.token('ann', ['deployments:create'], [{ project: name, role: 'admin' }]);
    dev = await api.token(
      'dev',
      ['deployments:create', 'deployments:delete'],
      [{ project: name, role: 'deployer' }],
    );
    return name;
  };

  const deploy = async (name: string, environment: string, body: Record<string, unknown> = {}) => {
    const created = await api.call<One>('POST', `/api/v1/projects/${name}/deployments`, {
      token: dev,
      body: { environment, ...body },
    });
    expect(created.status, created.text).toBe(201);
    const done = await api.waitFor(created.body.deployment.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    return done;
  };

  it('refuses a rollback with nothing behind (400, naming the release) and records nothing; so does chat', async () => {
    const name = await project();
    const first = await deploy(name, 'staging');
    const before = await api.stack.em().count(Deployment, { project: { name } });
    const refused = await api.call('POST', `/api/v1/projects/${name}/environments/staging/rollback`, {
      token: dev,
    });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body).toMatchObject({ error: 'refused' });
    expect(String(refused.body.message)).toContain(`${first.releaseName} (#${first.number}`);
    const typed = await devChat.type(`rollback ${name} staging`);
    expect(typed.visibleTo).toBe(devChat.identity);
    expect(typed.reply.text).toMatch(/Nothing to roll back to on staging/);
    expect(await api.stack.em().count(Deployment, { project: { name } })).toBe(before);
  });

  it('rolls back to a named deployment over REST and in chat; the environment shows what is live', async () => {
    const name = await project();
    const [a, b] = api.repo.commits as [string, string];
    const first = await deploy(name, 'staging', { from: 'sha', sha: a });
    const second = await deploy(name, 'staging', { from: 'sha', sha: b });

    const rolled = await api.call<One>('POST', `/api/v1/projects/${name}/environments/staging/rollback`, {
      token: dev,
      body: { deployment: first.number },
    });
    expect(rolled.status, rolled.text).toBe(201);
    expect(rolled.body.deployment.commit_hash).toBe(a);
    await api.waitFor(rolled.body.deployment.id, ended);
    const shown = await api.call<{ live: { release: string; commit: string } }>(
      'GET',
      `/api/v1/projects/${name}/environments/staging`,
      { token: dev },
    );
    expect(shown.body.live).toMatchObject({ release: first.releaseName, commit: a });
    expect(await readFile(join(api.folder, name, 's1', 'current', 'VERSION'), 'utf8')).toBe('1\n');

    const typed = await devChat.type(`rollback ${name} staging #${second.number}`);
    expect(replyText(typed.reply)).toContain(`Rollback #`);
    const id = typed.reply.footer?.replace('deployment ', '') ?? '';
    expect((await api.waitFor(id, ended)).status).toBe('finished');
    expect(await readFile(join(api.folder, name, 's1', 'current', 'VERSION'), 'utf8')).toBe('2\n');

    // Promote reads the live state: production gets B, what the chat rollback made live.
    const promoted = await api.call<One>('POST', `/api/v1/projects/${name}/environments/staging/promote`, {
      token: dev,
      body: { targetStage: 'production' },
    });
    expect(promoted.status, promoted.text).toBe(202);
    expect(promoted.body.deployment.commit_hash).toBe(b);
  });

  it('passes a deploy to a gated tier through the test gate: block refuses, warn asks to confirm, admins force', async () => {
    const name = await project(false);
    const audit = (action: string) =>
      database.query('select result, details from audit_events where action = $1 order by id', [action]);
    const count = () => api.stack.em().count(Deployment, { project: { name } });
    const post = (token: string, body: Record<string, unknown>) =>
      api.call<One & { deployment: { forced: boolean }; message?: string }>(
        'POST',
        `/api/v1/projects/${name}/deployments`,
        {
          token,
          body,
        },
      );

    const blocked = await post(dev, { environment: 'production' });
    expect(blocked.status, blocked.text).toBe(400);
    expect(blocked.body).toMatchObject({ error: 'refused' });
    expect(String(blocked.body.message)).toMatch(
      /has no test results, and app\d+'s production test gate is "block"/,
    );
    const warned = await post(dev, { environment: 'staging' });
    expect(warned.status).toBe(400);
    expect(String(warned.body.message)).toMatch(/test gate is "warn": confirm/);
    expect(await count()).toBe(0);
    expect((await audit('deployment.deploy.test_gate')).map((r) => r.result)).toEqual(['refused', 'refused']);

    const confirmed = await post(dev, { environment: 'staging', confirm: true });
    expect(confirmed.status, confirmed.text).toBe(201);
    await api.waitFor(confirmed.body.deployment.id, ended);

    const notAdmin = await post(dev, { environment: 'production', force: true });
    expect(notAdmin.status).toBe(403);
    const forced = await post(admin, { environment: 'production', force: true });
    expect(forced.status, forced.text).toBe(201);
    expect(forced.body.deployment.forced).toBe(true);
    await api.waitFor(forced.body.deployment.id, ended);
    const [forceAudit] = await audit('deployment.deploy.force');
    expect(forceAudit).toMatchObject({ result: 'ok', details: { environment: 'production', gate: 'block' } });

    // Chat: the refusal says what to type next; "confirm" and an admin's "force" go on.
    const refused = await devChat.type(`deploy ${name} production`);
    expect(refused.reply.text).toContain(`An admin may force it: /deploy ${name} production main force`);
    const chatWarned = await devChat.type(`deploy ${name} staging`);
    expect(chatWarned.reply.text).toContain(`Type: /deploy ${name} staging main confirm`);
    const chatConfirmed = await devChat.type(`deploy ${name} staging main confirm`);
    expect(chatConfirmed.reply.title).toMatch(/^Deploy #\d+/);
    await api.waitFor(chatConfirmed.reply.footer!.replace('deployment ', ''), ended);
    const devForce = await devChat.type(`deploy ${name} production main force`);
    expect(devForce.reply.text).toMatch(/You need the admin role/);
    const annForce = await annChat.type(`deploy ${name} production main force`);
    expect(annForce.reply.title).toMatch(/^Deploy #\d+/);
    expect(annForce.reply.footer).toMatch(/deployment [0-9a-f-]{36}/);
  });

  it('freezes an environment: deploys and promotes refused with when it ends; an admin forces with a reason, audited', async () => {
    const name = await project();
    const count = () => api.stack.em().count(Deployment, { project: { name } });
    const windows = `/api/v1/projects/${name}/environments/production/freeze_windows`;
    const staged = await deploy(name, 'staging');
    expect(staged.status).toBe('finished');

    // Bad windows are refused field by field.
    for (const [body, field] of [
      [{ freeze_start: 'every friday', duration_minutes: 60 }, 'freeze_start'],
      [{ freeze_start: '0 18 * * 5', cron_timezone: 'Mars/Olympus', duration_minutes: 60 }, 'cron_timezone'],
      [{ freeze_start: '0 18 * * 5' }, 'freeze_end'],
      [{ starts_at: '2026-12-24T00:00:00Z', ends_at: '2026-12-23T00:00:00Z' }, 'ends_at'],
    ] as const) {
      const bad = await api.call<{ errors: Record<string, string[]> }>('POST', windows, {
        token: root,
        body,
      });
      expect(bad.status, JSON.stringify(body)).toBe(422);
      expect(Object.keys(bad.body.errors), JSON.stringify(body)).toContain(field);
    }
    const now = Date.now();
    const until = new Date(now + 2 * 3600_000);
    const created = await api.call<{ id: string }>('POST', windows, {
      token: root,
      body: {
        starts_at: new Date(now - 3600_000).toISOString(),
        ends_at: until.toISOString(),
        reason: 'Black Friday',
      },
    });
    expect(created.status, created.text).toBe(201);
    const cron = await api.call('POST', windows, {
      token: root,
      body: {
        freeze_start: '0 18 * * 5',
        freeze_end: '0 8 * * 1',
        cron_timezone: 'Europe/Paris',
        reason: 'weekend',
      },
    });
    expect(cron.status, cron.text).toBe(201);
    const listed = await api.call<unknown[]>('GET', windows, { token: dev });
    expect(listed.body).toHaveLength(2);

    const shown = await api.call<{ freeze: { frozen: boolean; until: string; reason: string } }>(
      'GET',
      `/api/v1/projects/${name}/environments/production`,
      { token: dev },
    );
    expect(shown.body.freeze).toMatchObject({
      frozen: true,
      until: until.toISOString(),
      reason: 'Black Friday',
    });

    const untilText = until.toISOString().replace('T', ' ').slice(0, 16);
    const refused = await api.call('POST', `/api/v1/projects/${name}/deployments`, {
      token: dev,
      body: { environment: 'production' },
    });
    expect(refused.status, refused.text).toBe(400);
    expect(String(refused.body.message)).toContain(
      `production is frozen until ${untilText} UTC: Black Friday`,
    );
    const promote = await api.call('POST', `/api/v1/projects/${name}/environments/staging/promote`, {
      token: dev,
      body: { targetStage: 'production' },
    });
    expect(promote.status).toBe(400);
    expect(String(promote.body.message)).toContain('frozen until');
    const noReason = await api.call('POST', `/api/v1/projects/${name}/deployments`, {
      token: admin,
      body: { environment: 'production', force: true },
    });
    expect(noReason.status).toBe(400);
    expect(String(noReason.body.message)).toMatch(/give a reason/);
    expect(await count()).toBe(1);

    // Chat shows the freeze in status and env show, and refuses in words.
    expect(replyText((await devChat.type(`status ${name}`)).reply)).toContain(
      `frozen until ${untilText} UTC`,
    );
    const envShown = replyText((await devChat.type(`env show ${name} production`)).reply);
    expect(envShown).toContain(`Freeze: frozen until ${untilText} UTC: Black Friday`);
    expect((await devChat.type(`deploy ${name} production`)).reply.text).toContain('frozen until');

    const forced = await annChat.type(`deploy ${name} production main force "hotfix for checkout"`);
    expect(forced.reply.title, replyText(forced.reply)).toMatch(/^Deploy #\d+/);
    expect(replyText(forced.reply)).toContain('Forced by ann: hotfix for checkout');
    await api.waitFor(forced.reply.footer!.replace('deployment ', ''), ended);
    const [audit] = await database.query(
      `select actor_name, result, details from audit_events where action = 'deployment.deploy.freeze_forced'`,
    );
    expect(audit).toMatchObject({
      actor_name: 'ann',
      result: 'ok',
      details: { environment: 'production', reason: 'hotfix for checkout', freeze: 'Black Friday' },
    });

    // The freeze lifted: deploys go through again.
    const removed = await api.call('DELETE', `${windows}/${created.body.id}`, { token: root });
    expect(removed.status).toBe(204);
    const thawed = await api.call('GET', `/api/v1/projects/${name}/environments/production`, { token: dev });
    expect(thawed.body.freeze).toMatchObject({ frozen: false });
  });

  it("checks the environment's own health-check URL, the project's being the default", async () => {
    const name = await project();
    const probes: string[] = [];
    const server = createServer((request, response) => {
      probes.push(request.url ?? '');
      response.writeHead(request.url === '/staging' ? 503 : 200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const project = await api.call('PUT', `/api/v1/projects/${name}`, {
        token: root,
        body: { health_check_url: `http://127.0.0.1:${port}/project` },
      });
      expect(project.status, project.text).toBe(200);
      const updated = await api.call<{ health_check_url: string }>(
        'PUT',
        `/api/v1/projects/${name}/environments/staging`,
        { token: root, body: { health_check_url: `http://127.0.0.1:${port}/staging` } },
      );
      expect(updated.status, updated.text).toBe(200);
      expect(updated.body.health_check_url).toBe(`http://127.0.0.1:${port}/staging`);

      const created = await api.call<One>('POST', `/api/v1/projects/${name}/deployments`, {
        token: dev,
        body: { environment: 'staging' },
      });
      const failed = await api.waitFor(created.body.deployment.id, ended);
      expect(failed.status).toBe('failed');
      expect(failed.failureReason).toContain(`http://127.0.0.1:${port}/staging answered HTTP 503`);
      await deploy(name, 'production');
      expect(probes.filter((p) => p === '/project')).toHaveLength(1);
      expect(probes.every((p) => p === '/staging' || p === '/project')).toBe(true);
    } finally {
      server.close();
    }
  });
});
