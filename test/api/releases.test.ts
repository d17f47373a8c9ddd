import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebConsoleAdapter } from '../../adapters/web/console.js';
import { Deployment } from '../../src/db/entities/index.js';
import { type ConsoleUser, consoleUser, replyText } from '../support/console-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

const CONSOLE_TOKEN = 'console-token-for-release-tests';

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
    api = await startApiStack(database, { SLIPWAY_WEB_TOKEN: CONSOLE_TOKEN });
    root = await api.rootToken();
    const web = api.slipway.adapters.find((a) => a.platform === 'web') as WebConsoleAdapter;
    devChat = await consoleUser(api.stack.url, CONSOLE_TOKEN, 'dev', web);
    annChat = await consoleUser(api.stack.url, CONSOLE_TOKEN, 'ann', web);
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
    expect(typed.visibleTo).toBe('dev');
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
});
