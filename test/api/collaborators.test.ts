import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectRole } from '../../src/db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

type Collaborator = { id: string; name: string; role: string; scope: string; identities: string[] };
type List = { collaborators: Collaborator[] };

describe('REST API: collaborators (members and their roles)', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    const root = await api.rootToken();
    await api.project(root, 'crm', [{ name: 'staging', tier: 'staging' }]);
    admin = await api.token('ada', 'all', [{ project: 'crm', role: 'admin' }]);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  it('grants, lists, gets and revokes roles, by chat identity', async () => {
    const path = '/api/v1/projects/crm/collaborators';
    const granted = await api.call<List>('POST', path, {
      token: admin,
      body: { platform: 'slack', workspace: 'T1', user_id: 'U42', name: 'Grace', role: 'approver' },
    });
    expect(granted.status).toBe(201);
    const grace = granted.body.collaborators.find((c) => c.name === 'Grace');
    expect(grace).toMatchObject({ role: 'approver', scope: 'project', identities: ['slack:T1:U42'] });
    const list = await api.call<List>('GET', path, { token: admin });
    expect(list.body.collaborators.map((c) => `${c.name}:${c.role}:${c.scope}`).sort()).toEqual([
      'Grace:approver:project',
      'ada:admin:project',
      'root:admin:global',
    ]);
    const one = await api.call<{ collaborator: Collaborator }>('GET', `${path}/${grace!.id}`, {
      token: admin,
    });
    expect(one.body.collaborator.name).toBe('Grace');
    // Grace's role now works for her tokens.
    const graceToken = await api.token('grace-web', [], []);
    expect((await api.call('GET', '/api/v1/projects/crm', { token: graceToken })).status).toBe(403);
    const promoted = await api.call<List>('POST', path, {
      token: admin,
      body: { platform: 'slack', workspace: 'T1', user_id: 'U42', role: 'deployer' },
    });
    expect(promoted.body.collaborators.find((c) => c.id === grace!.id)?.role).toBe('deployer');
    const revoked = await api.call<List>('DELETE', path, {
      token: admin,
      body: { platform: 'slack', workspace: 'T1', user_id: 'U42' },
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.collaborators.some((c) => c.id === grace!.id)).toBe(false);
    const again = await api.call('DELETE', path, {
      token: admin,
      body: { platform: 'slack', workspace: 'T1', user_id: 'U42' },
    });
    expect(again.status).toBe(404);
  });

  it('refuses non-admins and bad input, changing nothing', async () => {
    const path = '/api/v1/projects/crm/collaborators';
    const deployer = await api.token('dev', 'all', [{ project: 'crm', role: 'deployer' }]);
    const before = await api.stack.em().count(ProjectRole, {});
    const byDeployer = await api.call('POST', path, {
      token: deployer,
      body: { platform: 'web', workspace: 'local', user_id: 'dev', role: 'admin' },
    });
    expect(byDeployer.status).toBe(403);
    expect((await api.call('GET', path, { token: deployer })).status).toBe(403);
    const bad = await api.call<{ errors: Record<string, string[]> }>('POST', path, {
      token: admin,
      body: { platform: 'myspace', workspace: '', user_id: 'x', role: 'overlord' },
    });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.errors).sort()).toEqual(['platform', 'role', 'workspace']);
    expect(await api.stack.em().count(ProjectRole, {})).toBe(before);
  });
});
