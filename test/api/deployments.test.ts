import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployment } from '../../src/db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

type DeploymentJson = {
  id: string;
  number: number;
  status: string;
  ref: string;
  commit_hash: string | null;
  source: string;
  approval: { status: string; approved_by: string[] } | null;
  servers: { server: string; steps: { name: string; status: string; output_tail: string | null }[] }[];
};
type One = { deployment: DeploymentJson };

describe('REST API: deployments', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let dev: string;
  let approver: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    root = await api.rootToken();
    await api.project(root, 'web', [
      { name: 'staging', tier: 'staging' },
      { name: 'production', tier: 'production', approvals_required: 1 },
    ]);
    dev = await api.token(
      'dev',
      ['deployments:create', 'deployments:delete'],
      [{ project: 'web', role: 'deployer' }],
    );
    approver = await api.token('carol', ['deployments:create'], [{ project: 'web', role: 'approver' }]);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  const deploy = (body: Record<string, unknown>, token = dev) =>
    api.call<One>('POST', '/api/v1/projects/web/deployments', { token, body });

  it("deploys the environment's branch by default and shows each server's steps", async () => {
    const created = await deploy({ environment: 'staging' });
    expect(created.status).toBe(201);
    expect(created.body.deployment).toMatchObject({ status: 'queued', ref: 'main', source: 'api' });
    expect(created.body.deployment.commit_hash).toBe(api.repo.commits[1]);
    await api.waitFor(created.body.deployment.id, ended);
    const shown = await api.call<One>(
      'GET',
      `/api/v1/projects/web/deployments/${created.body.deployment.id}`,
      {
        token: dev,
      },
    );
    expect(shown.body.deployment.status).toBe('finished');
    const [server] = shown.body.deployment.servers;
    expect(server?.server).toBe('local-1');
    expect(server?.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(['Clone new release', 'Activate new release']),
    );
    expect(server?.steps.every((s) => s.status === 'finished' || s.status === 'skipped')).toBe(true);
    // By number too, as chat shows it.
    const byNumber = await api.call<One>(
      'GET',
      `/api/v1/projects/web/deployments/${created.body.deployment.number}`,
      { token: dev },
    );
    expect(byNumber.body.deployment.id).toBe(created.body.deployment.id);
    const version = await readFile(join(api.folder, 'web', 'local-1', 'current', 'VERSION'), 'utf8');
    expect(version).toBe('2\n');
  });

  it('deploys from a tag and from a full sha', async () => {
    const tag = await deploy({ environment: 'staging', from: 'tag', tag: 'v1.0.0' });
    expect(tag.status).toBe(201);
    expect(tag.body.deployment.commit_hash).toBe(api.repo.commits[0]);
    await api.waitFor(tag.body.deployment.id, ended);
    const sha = await deploy({ environment: 'staging', from: 'sha', sha: api.repo.commits[1] });
    expect(sha.status).toBe(201);
    expect(sha.body.deployment).toMatchObject({ ref: api.repo.commits[1], commit_hash: api.repo.commits[1] });
    await api.waitFor(sha.body.deployment.id, ended);
  });

  it('refuses bad input with 422 and a message per field, and creates nothing', async () => {
    const before = await api.stack.em().count(Deployment, {});
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        { environment: 'staging', from: 'branch', branch: 'main;rm -rf /' },
        'branch',
        /shell metacharacter ";"/,
      ],
      [{ environment: 'staging', branch: '$(reboot)' }, 'branch', /shell metacharacter/],
      [{ environment: 'staging', branch: '--upload-pack=evil' }, 'branch', /may not start with "-"/],
      [{ environment: 'staging', from: 'tag' }, 'tag', /tag is required/],
      [{ environment: 'staging', from: 'sha', sha: 'abc123' }, 'sha', /full 40-character/],
      [{ environment: 'staging', branch: 'main', tag: 'v1.0.0' }, 'tag', /one of branch, tag or sha/],
      [{ environment: '../etc' }, 'environment', /letters, digits/],
      [{}, 'environment', /environment is required/],
      [{ environment: 'staging', color: 'red' }, 'body', /.+/],
    ];
    for (const [body, field, pattern] of cases) {
      const reply = await deploy(body);
      expect(reply.status, JSON.stringify(body)).toBe(422);
      const errors = (reply.body as unknown as { errors: Record<string, string[]> }).errors;
      expect(Object.keys(errors), JSON.stringify(body)).toContain(field);
      expect(errors[field]!.join(' '), JSON.stringify(body)).toMatch(pattern);
    }
    expect(await api.stack.em().count(Deployment, {})).toBe(before);
    const unknown = await deploy({ environment: 'nowhere' });
    expect(unknown.status).toBe(404);
  });

  it('pages through the history with limit and offset, newest first', async () => {
    const all = await api.call<{ deployments: { number: number }[]; meta: { total: number } }>(
      'GET',
      '/api/v1/projects/web/deployments?limit=100',
      { token: dev },
    );
    expect(all.status).toBe(200);
    const total = all.body.meta.total;
    expect(total).toBeGreaterThanOrEqual(3);
    const numbers = all.body.deployments.map((d) => d.number);
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
    const pages: number[] = [];
    for (let offset = 0; offset < total; offset += 2) {
      const page = await api.call<{ deployments: { number: number }[]; meta: Record<string, number> }>(
        'GET',
        `/api/v1/projects/web/deployments?limit=2&offset=${offset}`,
        { token: dev },
      );
      expect(page.body.meta).toEqual({ total, limit: 2, offset });
      expect(page.body.deployments.length).toBe(Math.min(2, total - offset));
      pages.push(...page.body.deployments.map((d) => d.number));
    }
    expect(pages).toEqual(numbers);
    const past = await api.call<{ deployments: unknown[] }>(
      'GET',
      `/api/v1/projects/web/deployments?offset=${total}`,
      {
        token: dev,
      },
    );
    expect(past.body.deployments).toEqual([]);
    const filtered = await api.call<{ deployments: { environment: string }[] }>(
      'GET',
      '/api/v1/projects/web/deployments?environment=staging&status=finished',
      { token: dev },
    );
    expect(filtered.body.deployments.every((d) => d.environment === 'staging')).toBe(true);
    for (const [query, field] of [
      ['limit=-1', 'limit'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['offset=-5', 'offset'],
      ['limit=1.5', 'limit'],
      ['status=exploded', 'status'],
    ]) {
      const reply = await api.call<{ errors: Record<string, string[]> }>(
        'GET',
        `/api/v1/projects/web/deployments?${query}`,
        { token: dev },
      );
      expect(reply.status, query).toBe(422);
      expect(Object.keys(reply.body.errors), query).toEqual([field]);
    }
  });

  it('waits for approvals like chat: the requester cannot approve, an approver can', async () => {
    const created = await deploy({ environment: 'production' });
    expect(created.status).toBe(201);
    expect(created.body.deployment.status).toBe('awaiting_approval');
    expect(created.body.deployment.approval).toMatchObject({ status: 'pending', approved_by: [] });
    const id = created.body.deployment.id;
    // Still waiting a moment later: nothing runs without the approval.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await api.stack.em().findOneOrFail(Deployment, { id })).status).toBe('awaiting_approval');
    const own = await api.call('POST', `/api/v1/projects/web/deployments/${id}/approve`, { token: dev });
    expect(own.status).toBe(403);
    expect(own.body.message).toMatch(/you cannot approve/);
    const approved = await api.call<One>('POST', `/api/v1/projects/web/deployments/${id}/approve`, {
      token: approver,
    });
    expect(approved.status).toBe(200);
    expect(approved.body.deployment.approval?.approved_by).toEqual(['carol (token carol-token)']);
    const again = await api.call('POST', `/api/v1/projects/web/deployments/${id}/approve`, {
      token: approver,
    });
    expect(again.status).toBe(409);
    const done = await api.waitFor(id, ended);
    expect(done.status).toBe('finished');
  });

  it('cancels a waiting deployment, and rejects refuse the request', async () => {
    const waiting = await deploy({ environment: 'production' });
    const id = waiting.body.deployment.id;
    const viewer = await api.token('vic', 'all', [{ project: 'web', role: 'viewer' }]);
    expect(
      (await api.call('DELETE', `/api/v1/projects/web/deployments/${id}`, { token: viewer })).status,
    ).toBe(403);
    const cancelled = await api.call<One>('DELETE', `/api/v1/projects/web/deployments/${id}`, { token: dev });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.deployment.status).toBe('cancelled');
    const twice = await api.call('DELETE', `/api/v1/projects/web/deployments/${id}`, { token: dev });
    expect(twice.status).toBe(409);

    const second = await deploy({ environment: 'production' });
    const rejected = await api.call<One>(
      'POST',
      `/api/v1/projects/web/deployments/${second.body.deployment.id}/reject`,
      {
        token: approver,
      },
    );
    expect(rejected.body.deployment.status).toBe('rejected');
  });

  it('rolls back, and a lock held by someone else refuses a deploy', async () => {
    const rollback = await api.call<One>('POST', '/api/v1/projects/web/environments/staging/rollback', {
      token: dev,
    });
    expect(rollback.status, rollback.text).toBe(201);
    expect((await api.waitFor(rollback.body.deployment.id, ended)).status).toBe('finished');

    const locked = await api.call('POST', '/api/v1/projects/web/environments/staging/lock', {
      token: approver,
      body: { reason: 'db migration', minutes: 30 },
    });
    expect(locked.status).toBe(200);
    expect(locked.body).toMatchObject({ lock: { reason: 'db migration' } });
    const refused = await deploy({ environment: 'staging' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'environment_locked' });
    const unlock = await api.call('DELETE', '/api/v1/projects/web/environments/staging/lock', {
      token: approver,
    });
    expect(unlock.status).toBe(200);
    expect(unlock.body).toEqual({ broke: null });
  });

  it('a deployment from another project is 404 under this one', async () => {
    await api.project(root, 'other', [{ name: 'staging', tier: 'staging' }], ['box']);
    const rows = await api.stack.em().find(Deployment, { project: { name: 'web' } }, { limit: 1 });
    const elsewhere = await api.call('GET', `/api/v1/projects/other/deployments/${rows[0]!.id}`, {
      token: root,
    });
    expect(elsewhere.status).toBe(404);
  });
});
