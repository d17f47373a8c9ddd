import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_PURPOSE } from '../../src/core/secrets/index.js';
import { AuditEvent, Project } from '../../src/db/entities/index.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

type Errors = { error: string; message: string; errors: Record<string, string[]> };
type ProjectJson = {
  project: Record<string, unknown> & { name: string; folders: unknown[]; test_gates: unknown };
};
type ServerJson = { server: Record<string, unknown> & { name: string; connection_status: string } };
type HookJson = { hook: { id: string; name: string; action: string; action_id: number; servers: string[] } };

const ENV_SECRET = 'hunter2-very-secret-value';

describe('REST API: projects, servers, linked folders, environment file, hooks', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    root = await api.rootToken();
    await api.project(root, 'site', [{ name: 'staging', tier: 'staging' }]);
    admin = await api.token('ada', 'all', [{ project: 'site', role: 'admin' }]);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  it('creates a project (global admins only) with its SSH key, and shows only the public half', async () => {
    const byProjectAdmin = await api.call('POST', '/api/v1/projects', {
      token: admin,
      body: { name: 'blog', repository: api.repo.path },
    });
    expect(byProjectAdmin.status).toBe(403);
    const invalid = await api.call<Errors>('POST', '/api/v1/projects', {
      token: root,
      body: { name: 'bad name!', repository: '', retain_deployments: 1, provider: 'svn' },
    });
    expect(invalid.status).toBe(422);
    expect(Object.keys(invalid.body.errors).sort()).toEqual([
      'name',
      'provider',
      'repository',
      'retain_deployments',
    ]);
    const helper = await api.call<Errors>('POST', '/api/v1/projects', {
      token: root,
      body: { name: 'evil', repository: 'ext::sh -c touch% /tmp/pwned' },
    });
    expect(helper.status).toBe(422);
    expect(helper.body.message).toMatch(/remote helper/);
    const created = await api.call<ProjectJson>('POST', '/api/v1/projects', {
      token: root,
      body: {
        name: 'blog',
        repository: 'https://deploy:s3cr3t-token@git.example.test/blog.git',
        provider: 'gitlab',
        branch: 'trunk',
        retain_deployments: 4,
        health_check_url: 'https://blog.example.test/health',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.project).toMatchObject({
      name: 'blog',
      provider: 'gitlab',
      branch: 'trunk',
      retain_deployments: 4,
      repository: 'https://deploy:***@git.example.test/blog.git',
      test_gates: { staging: 'warn', production: 'block' },
      has_environment: false,
    });
    expect(created.text).not.toContain('s3cr3t-token');
    expect(String(created.body.project.public_key)).toMatch(/^ssh-ed25519 /);
    const key = await api.call<{ public_key: string }>('GET', '/api/v1/projects/blog/key', { token: root });
    expect(key.body.public_key).toBe(created.body.project.public_key);
    const duplicate = await api.call('POST', '/api/v1/projects', {
      token: root,
      body: { name: 'blog', repository: api.repo.path },
    });
    expect(duplicate.status).toBe(409);
  });

  it('updates a project and its source, and deletes it', async () => {
    const updated = await api.call<ProjectJson>('PUT', '/api/v1/projects/blog', {
      token: root,
      body: { retain_deployments: 7, install_command: 'npm ci' },
    });
    expect(updated.body.project).toMatchObject({ retain_deployments: 7, install_command: 'npm ci' });
    const source = await api.call<ProjectJson>('PUT', '/api/v1/projects/blog/source', {
      token: root,
      body: { repository: api.repo.path, branch: 'main', push_to_deploy: true, provider: 'git' },
    });
    expect(source.body.project).toMatchObject({ branch: 'main', push_to_deploy: true, provider: 'git' });
    const badBranch = await api.call<Errors>('PUT', '/api/v1/projects/blog/source', {
      token: root,
      body: { branch: 'a..b' },
    });
    expect(badBranch.status).toBe(422);
    expect(Object.keys(badBranch.body.errors)).toEqual(['branch']);
    const renamed = await api.call<ProjectJson>('PUT', '/api/v1/projects/blog', {
      token: root,
      body: { name: 'journal' },
    });
    expect(renamed.body.project.name).toBe('journal');
    expect((await api.call('DELETE', '/api/v1/projects/journal', { token: admin })).status).toBe(403);
    expect((await api.call('DELETE', '/api/v1/projects/journal', { token: root })).status).toBe(204);
    expect((await api.call('GET', '/api/v1/projects/journal', { token: root })).status).toBe(404);
  });

  it('manages linked folders', async () => {
    // site has a local server: what runs on the Slipway host is a global admin's to change.
    const added = await api.call<{ folders: unknown[] }>('POST', '/api/v1/projects/site/folders', {
      token: root,
      body: { from: 'storage/uploads', to: 'uploads' },
    });
    expect(added.status).toBe(201);
    expect(added.body.folders).toEqual([{ from: 'storage/uploads', to: 'uploads' }]);
    const outside = await api.call<Errors>('POST', '/api/v1/projects/site/folders', {
      token: root,
      body: { from: '../../etc', to: 'x' },
    });
    expect(outside.status).toBe(422);
    expect(outside.body.message).toMatch(/may not contain "\.\."/);
    const again = await api.call('POST', '/api/v1/projects/site/folders', {
      token: root,
      body: { from: 'storage/uploads', to: 'elsewhere' },
    });
    expect(again.status).toBe(409);
    expect(
      (await api.call<{ folders: unknown[] }>('GET', '/api/v1/projects/site/folders', { token: root })).body
        .folders,
    ).toHaveLength(1);
    const removed = await api.call<{ folders: unknown[] }>('DELETE', '/api/v1/projects/site/folders', {
      token: root,
      body: { from: 'storage/uploads', to: 'uploads' },
    });
    expect(removed.body.folders).toEqual([]);
    expect(
      (await api.call('DELETE', '/api/v1/projects/site/folders', { token: root, body: { from: 'nope' } }))
        .status,
    ).toBe(404);
  });

  it('manages servers; the local transport is for global admins', async () => {
    const local = await api.call('POST', '/api/v1/projects/site/servers', {
      token: admin,
      body: { name: 'here', transport: 'local', deploymentPath: `${api.folder}/here` },
    });
    expect(local.status).toBe(403);
    const missing = await api.call<Errors>('POST', '/api/v1/projects/site/servers', {
      token: admin,
      body: { name: 'web-2', deploymentPath: 'relative/path', port: 70000 },
    });
    expect(missing.status).toBe(422);
    expect(Object.keys(missing.body.errors).sort()).toEqual(['connectAs', 'deploymentPath', 'host', 'port']);
    const created = await api.call<ServerJson>('POST', '/api/v1/projects/site/servers', {
      token: admin,
      body: { name: 'web-2', host: '127.0.0.1', port: 1, connectAs: 'deploy', deploymentPath: '/srv/site' },
    });
    expect(created.status).toBe(201);
    expect(created.body.server).toMatchObject({
      name: 'web-2',
      host: '127.0.0.1',
      port: 1,
      connect_as: 'deploy',
      deployment_path: '/srv/site',
      transport: 'ssh',
      connection_status: 'unknown',
      receives_code_deployments: true,
    });
    // Nothing listens on port 1: the refresh records a failed connection and says why.
    const refreshed = await api.call<ServerJson & { message: string }>(
      'POST',
      '/api/v1/projects/site/servers/web-2/refresh',
      { token: admin },
    );
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.server.connection_status).toBe('failed');
    expect(refreshed.body.message).toBeTruthy();
    const updated = await api.call<ServerJson>('PUT', '/api/v1/projects/site/servers/web-2', {
      token: admin,
      body: { name: 'web-two', receivesCodeDeployments: false },
    });
    expect(updated.body.server).toMatchObject({ name: 'web-two', receives_code_deployments: false });
    const list = await api.call<{ servers: { name: string; environments: string[] }[] }>(
      'GET',
      '/api/v1/projects/site/servers',
      { token: admin },
    );
    expect(list.body.servers.map((s) => s.name)).toEqual(['local-1', 'web-two']);
    expect(list.body.servers[0]!.environments).toEqual(['staging']);
    const localRefresh = await api.call<ServerJson>('POST', '/api/v1/projects/site/servers/local-1/refresh', {
      token: admin,
    });
    expect(localRefresh.body.server.connection_status).toBe('successful');
    expect((await api.call('DELETE', '/api/v1/projects/site/servers/web-two', { token: admin })).status).toBe(
      204,
    );
    expect((await api.call('GET', '/api/v1/projects/site/servers/web-two', { token: admin })).status).toBe(
      404,
    );
  });

  it("keeps Envoyer's environment file semantics: reading needs the key, a reset wipes it", async () => {
    // site has a local server: what runs on the Slipway host is a global admin's to change.
    const path = '/api/v1/projects/site/environment';
    const noKeyYet = await api.call('GET', path, {
      token: root,
      headers: { 'x-environment-key': 'whatever' },
    });
    expect(noKeyYet.status).toBe(400);
    const set = await api.call('PUT', path, {
      token: root,
      body: { key: 'first-key', contents: `APP_ENV=staging\nSECRET=${ENV_SECRET}\n` },
    });
    expect(set.status).toBe(200);
    expect(set.text).not.toContain(ENV_SECRET);
    const withoutKey = await api.call<Errors>('GET', path, { token: root });
    expect(withoutKey.status).toBe(422);
    expect(Object.keys(withoutKey.body.errors)).toEqual(['x-environment-key']);
    const wrong = await api.call('GET', path, {
      token: root,
      headers: { 'x-environment-key': 'not-the-key' },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.text).not.toContain(ENV_SECRET);
    const reads = await api.stack.em().find(AuditEvent, { action: 'project.environment_file.read' });
    expect(reads.map((r) => r.result)).toEqual(['refused', 'refused']);
    const right = await api.call<{ environment: string }>('GET', path, {
      token: root,
      headers: { 'x-environment-key': 'first-key' },
    });
    expect(right.body.environment).toBe(`APP_ENV=staging\nSECRET=${ENV_SECRET}\n`);
    const viewer = await api.token('vera', 'all', [{ project: 'site', role: 'deployer' }]);
    expect(
      (await api.call('GET', path, { token: viewer, headers: { 'x-environment-key': 'first-key' } })).status,
    ).toBe(403);
    const overwrite = await api.call('PUT', path, {
      token: root,
      body: { key: 'guessing', contents: 'X=1' },
    });
    expect(overwrite.status).toBe(403);
    const stored = await api.stack.em().findOneOrFail(Project, { name: 'site' });
    expect(stored.environmentFile).not.toContain(ENV_SECRET);
    expect(stored.environmentKeyHash).toMatch(/^scrypt\$/);
    expect(
      api.slipway.secrets.open(stored.environmentFile!, SECRET_PURPOSE.projectEnvironmentFile),
    ).toContain(ENV_SECRET);
    // The audit log names the keys, never the values.
    const audit = await api.stack.em().find(AuditEvent, { action: 'project.environment_file.update' });
    expect(JSON.stringify(audit.map((a) => a.details))).toContain('SECRET');
    expect(JSON.stringify(audit.map((a) => a.details))).not.toContain(ENV_SECRET);
    const project = await api.call('GET', '/api/v1/projects/site', { token: root });
    expect(project.body).toMatchObject({ project: { has_environment: true } });
    expect(project.text).not.toContain(ENV_SECRET);
    // The value reaches the servers, and never a step's output.
    await api.call('POST', '/api/v1/projects/site/hooks', {
      token: root,
      body: { name: 'show env', script: 'cat .env; echo done', action: 'activate', timing: 'after' },
    });
    const deployed = await api.call<{ deployment: { id: string } }>(
      'POST',
      '/api/v1/projects/site/deployments',
      {
        token: root,
        body: { environment: 'staging' },
      },
    );
    await api.waitFor(deployed.body.deployment.id, ended);
    const shown = await api.call('GET', `/api/v1/projects/site/deployments/${deployed.body.deployment.id}`, {
      token: root,
    });
    expect(shown.text).toContain('APP_ENV');
    expect(shown.text).not.toContain(ENV_SECRET);

    const reset = await api.call('DELETE', path, { token: root, body: { key: 'second-key' } });
    expect(reset.status).toBe(200);
    expect(
      (await api.call('GET', path, { token: root, headers: { 'x-environment-key': 'first-key' } })).status,
    ).toBe(403);
    const empty = await api.call<{ environment: string }>('GET', path, {
      token: root,
      headers: { 'x-environment-key': 'second-key' },
    });
    expect(empty.body.environment).toBe('');
  });

  it("manages hooks with Envoyer's payload (action by name or id)", async () => {
    // site has a local server: what runs on the Slipway host is a global admin's to change.
    const byId = await api.call<HookJson>('POST', '/api/v1/projects/site/hooks', {
      token: root,
      body: {
        name: 'Build Frontend',
        script: 'npm run prod',
        runAs: 'deploy',
        actionId: 2,
        timing: 'after',
        servers: ['local-1'],
      },
    });
    expect(byId.status).toBe(201);
    expect(byId.body.hook).toMatchObject({
      name: 'Build Frontend',
      action: 'install',
      action_id: 2,
      servers: ['local-1'],
    });
    const invalid = await api.call<Errors>('POST', '/api/v1/projects/site/hooks', {
      token: root,
      body: { name: 'x', script: 'true', timing: 'sometime', runAs: 'root; rm' },
    });
    expect(invalid.status).toBe(422);
    expect(Object.keys(invalid.body.errors).sort()).toEqual(['action', 'runAs', 'timing']);
    const updated = await api.call<HookJson>('PUT', `/api/v1/projects/site/hooks/${byId.body.hook.id}`, {
      token: root,
      body: { servers: [], action: 'clone' },
    });
    expect(updated.body.hook).toMatchObject({ servers: [], action: 'clone', action_id: 1 });
    const actions = await api.call<{ actions: { id: number; key: string }[] }>('GET', '/api/v1/actions', {
      token: root,
    });
    expect(actions.body.actions.map((a) => a.key)).toEqual(['clone', 'install', 'activate', 'purge']);
    const list = await api.call<{ hooks: unknown[] }>('GET', '/api/v1/projects/site/hooks', { token: root });
    expect(list.body.hooks).toHaveLength(2);
    expect(
      (await api.call('DELETE', `/api/v1/projects/site/hooks/${byId.body.hook.id}`, { token: root })).status,
    ).toBe(204);
    expect(
      (await api.call('GET', `/api/v1/projects/site/hooks/${byId.body.hook.id}`, { token: root })).status,
    ).toBe(404);
    expect((await api.call('GET', '/api/v1/projects/site/hooks/not-a-uuid', { token: root })).status).toBe(
      422,
    );
  });

  it('never returns a secret: no private key, env values, token hashes or repository credentials', async () => {
    const stored = await api.stack.em().findOneOrFail(Project, { name: 'site' });
    const privateKey = api.slipway.secrets.open(stored.sshPrivateKey, SECRET_PURPOSE.projectSshKey);
    const hashes = (await database.query<{ token_hash: string }>('select token_hash from api_tokens')).map(
      (r) => r.token_hash,
    );
    const paths = [
      '/api/v1/projects',
      '/api/v1/projects/site',
      '/api/v1/projects/site/servers',
      '/api/v1/projects/site/servers/local-1',
      '/api/v1/projects/site/environments',
      '/api/v1/projects/site/environments/staging',
      '/api/v1/projects/site/deployments',
      '/api/v1/projects/site/hooks',
      '/api/v1/projects/site/folders',
      '/api/v1/projects/site/pipeline?recentDeployments=10',
      '/api/v1/projects/site/collaborators',
      '/api/v1/tokens',
      '/api/v1/user',
      '/api/openapi.json',
    ];
    const body = privateKey.split('\n').find((line) => line.length > 40)!;
    for (const path of paths) {
      const reply = await api.call('GET', path, { token: root });
      expect(reply.status, path).toBe(200);
      expect(reply.text, path).not.toContain('PRIVATE KEY');
      expect(reply.text, path).not.toContain(body);
      expect(reply.text, path).not.toContain(ENV_SECRET);
      expect(reply.text, path).not.toContain(stored.sshPrivateKey);
      for (const hash of hashes) expect(reply.text, path).not.toContain(hash);
    }
  });
});

describe.skipIf(skipSshSuites)('REST API: refreshing a server over real SSH', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let hosts: SshHosts;

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(1);
    api = await startApiStack(database);
  });
  afterAll(async () => {
    await api?.stop();
    await hosts?.stopAll();
    await database?.drop();
  });

  it('records a refused login as failed, then a working one as successful with the host key pinned', async () => {
    const root = await api.rootToken();
    await api.call('POST', '/api/v1/projects', {
      token: root,
      body: { name: 'remote', repository: api.repo.path },
    });
    const host = hosts.hosts[0]!;
    const plan = host.server({ subPath: 'remote' });
    await api.call('POST', '/api/v1/projects/remote/servers', {
      token: root,
      body: {
        name: 'box',
        host: plan.host,
        port: plan.port,
        connectAs: plan.user,
        deploymentPath: plan.deployPath,
      },
    });
    // The project's own key is not in the host's authorized_keys yet.
    const refused = await api.call<ServerJson & { message: string }>(
      'POST',
      '/api/v1/projects/remote/servers/box/refresh',
      { token: root },
    );
    expect(refused.body.server.connection_status).toBe('failed');
    expect(refused.body.message).toBeTruthy();
    // Install the key the host trusts, as a person would add the public key to authorized_keys.
    const em = api.stack.em();
    const project = await em.findOneOrFail(Project, { name: 'remote' });
    project.sshPrivateKey = api.slipway.secrets.seal(hosts.clientPrivateKey, SECRET_PURPOSE.projectSshKey);
    await em.flush();
    const ok = await api.call<ServerJson & { message: string | null }>(
      'POST',
      '/api/v1/projects/remote/servers/box/refresh',
      { token: root },
    );
    expect(ok.body.message).toBeNull();
    expect(ok.body.server.connection_status).toBe('successful');
    expect(ok.body.server.host_key_fingerprint).toBe(host.hostKeyFingerprint);
  });
});
