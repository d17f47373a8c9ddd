import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiToken, Deployment } from '../../src/db/entities/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

describe('REST API: tokens, scopes, roles, errors and the rate limit', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    root = await api.rootToken();
    await api.project(root, 'shop', [{ name: 'staging', tier: 'staging' }]);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  it('answers 401 for a missing, malformed, unknown or revoked token, and changes nothing', async () => {
    const before = await database.query('select count(*)::int as n from projects');
    const body = { name: 'sneaky', repository: api.repo.path };
    const missing = await api.call('POST', '/api/v1/projects', { body });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: 'unauthenticated' });
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    for (const header of ['Basic abc', 'Bearer', 'Bearer not-a-slipway-token', `Bearer ${root} extra`]) {
      const reply = await api.call('GET', '/api/v1/projects', { headers: { authorization: header } });
      expect(reply.status, header).toBe(401);
    }
    const unknown = await api.call('GET', '/api/v1/projects', {
      token: `slw_${'A'.repeat(43)}`,
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ message: 'That API token is not valid.' });

    const doomed = await api.token('carol', 'all');
    expect((await api.call('GET', '/api/v1/user', { token: doomed })).status).toBe(200);
    const listed = await api.call<{ tokens: { id: string; name: string }[] }>('GET', '/api/v1/tokens', {
      token: doomed,
    });
    const id = listed.body.tokens.find((t) => t.name === 'carol-token')!.id;
    const revoked = await api.call('DELETE', `/api/v1/tokens/${id}`, { token: doomed });
    expect(revoked.status).toBe(200);
    const after = await api.call('POST', '/api/v1/projects', { token: doomed, body });
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ message: 'That API token has been revoked.' });
    expect(await database.query('select count(*)::int as n from projects')).toEqual(before);
  });

  it('stores only a hash of each token, and never returns it after creation', async () => {
    const created = await api.call<{ token: string; api_token: Record<string, unknown> }>(
      'POST',
      '/api/v1/tokens',
      {
        token: root,
        body: {
          name: 'ci',
          scopes: ['deployments:create'],
          member: { platform: 'web', workspace: 'local', user_id: 'ci-bot' },
        },
      },
    );
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^slw_[A-Za-z0-9_-]{43}$/);
    const rows = await database.query<{ token_hash: string; prefix: string }>(
      'select token_hash, prefix from api_tokens where name = $1',
      ['ci'],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.token_hash).not.toContain(created.body.token);
    const list = await api.call('GET', '/api/v1/tokens', { token: root });
    expect(list.text).not.toContain(created.body.token);
    expect(list.text).not.toContain(rows[0]!.token_hash);
    expect(JSON.stringify(created.body.api_token)).not.toContain(rows[0]!.token_hash);
    // The token acts as its member: ci-bot has no role on shop yet.
    const who = await api.call('GET', '/api/v1/user', { token: created.body.token });
    expect(who.body).toMatchObject({ name: 'ci-bot (token ci)', token: { scopes: ['deployments:create'] } });
    expect((await api.call('GET', '/api/v1/projects/shop', { token: created.body.token })).status).toBe(403);
  });

  it('refuses to create a token with scopes the creating token lacks, or by a non-admin', async () => {
    const narrow = await api.token('root', ['deployments:create']);
    const wider = await api.call('POST', '/api/v1/tokens', {
      token: narrow,
      body: { name: 'wider', scopes: ['projects:delete'] },
    });
    expect(wider.status).toBe(403);
    expect(wider.body).toMatchObject({ error: 'forbidden' });
    const dev = await api.token('dev-nonadmin', 'all', [{ project: 'shop', role: 'deployer' }]);
    const byDev = await api.call('POST', '/api/v1/tokens', { token: dev, body: { name: 'x', scopes: [] } });
    expect(byDev.status).toBe(403);
    const unknownScope = await api.call<{ errors: Record<string, string[]> }>('POST', '/api/v1/tokens', {
      token: root,
      body: { name: 'bad', scopes: ['everything'] },
    });
    expect(unknownScope.status).toBe(422);
    expect(Object.keys(unknownScope.body.errors)).toEqual(['scopes.0']);
  });

  it('enforces every scope: a token without it gets 403 and nothing changes', async () => {
    const everything = await api.token('ada', 'all', [{ project: 'shop', role: 'admin' }]);
    const reads = await api.token('ada', [], []);
    // Each change with its scope; `reads` holds none of them.
    const attempts: [string, string, unknown][] = [
      ['POST', '/api/v1/projects', { name: 'other', repository: api.repo.path }],
      ['DELETE', '/api/v1/projects/shop', undefined],
      ['POST', '/api/v1/projects/shop/servers', { name: 'x', transport: 'local', deploymentPath: '/tmp/x' }],
      ['DELETE', '/api/v1/projects/shop/servers/local-1', undefined],
      ['POST', '/api/v1/projects/shop/environments', { name: 'qa' }],
      ['DELETE', '/api/v1/projects/shop/environments/staging', undefined],
      [
        'POST',
        '/api/v1/projects/shop/hooks',
        { name: 'h', script: 'true', action: 'activate', timing: 'after' },
      ],
      ['POST', '/api/v1/projects/shop/deployments', { environment: 'staging' }],
      [
        'POST',
        '/api/v1/projects/shop/collaborators',
        { platform: 'web', workspace: 'local', user_id: 'eve', role: 'viewer' },
      ],
      [
        'DELETE',
        '/api/v1/projects/shop/collaborators',
        { platform: 'web', workspace: 'local', user_id: 'ada' },
      ],
      ['PUT', '/api/v1/projects/shop/environment', { key: 'secret-key', contents: 'A=1' }],
    ];
    const count = async () =>
      (
        await database.query<{ n: number }>(
          `select (select count(*) from projects) + (select count(*) from servers) + (select count(*) from environments)
             + (select count(*) from hooks) + (select count(*) from deployments) + (select count(*) from project_roles) as n`,
        )
      )[0]!.n;
    const before = await count();
    for (const [method, path, body] of attempts) {
      const reply = await api.call(method, path, { token: reads, body });
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.body, `${method} ${path}`).toMatchObject({ error: 'forbidden' });
      expect(String(reply.body.message)).toMatch(/lacks the [a-z]+:(create|delete) scope/);
    }
    expect(await count()).toBe(before);
    // The same token can read.
    expect((await api.call('GET', '/api/v1/projects/shop/servers', { token: reads })).status).toBe(200);
    // And the token with the scopes may do it (an environment: shop's hooks would run on the
    // Slipway host, its local server, which only a global admin may change).
    const environment = await api.call('POST', '/api/v1/projects/shop/environments', {
      token: everything,
      body: { name: 'qa' },
    });
    expect(environment.status).toBe(201);
  });

  it('minting and revoking tokens need tokens:create and tokens:delete, even for a global admin', async () => {
    // Issue 14, item 3: a read-only token minted a new token and revoked someone else's.
    const readOnly = await api.token('root', []);
    const victim = await api.token('vera', []);
    const minted = await api.call('POST', '/api/v1/tokens', {
      token: readOnly,
      body: { name: 'minted', scopes: [] },
    });
    expect(minted.status).toBe(403);
    expect(minted.body.message).toContain('tokens:create');
    const listed = await api.call<{ tokens: { id: string; name: string }[] }>('GET', '/api/v1/tokens', {
      token: root,
    });
    const victimId = listed.body.tokens.find((t) => t.name === 'vera-token')!.id;
    const revoked = await api.call('DELETE', `/api/v1/tokens/${victimId}`, { token: readOnly });
    expect(revoked.status).toBe(403);
    expect(revoked.body.message).toContain('tokens:delete');
    expect((await api.call('GET', '/api/v1/user', { token: victim })).status).toBe(200);
    expect(await database.query(`select 1 from api_tokens where name = 'minted'`)).toHaveLength(0);

    // With the scopes, the same admin may; and a token it mints holds no scope it lacks.
    const minter = await api.token('root', ['tokens:create', 'tokens:delete']);
    const ok = await api.call<{ token: string }>('POST', '/api/v1/tokens', {
      token: minter,
      body: { name: 'minted', scopes: ['tokens:create'] },
    });
    expect(ok.status).toBe(201);
    expect((await api.call('DELETE', `/api/v1/tokens/${victimId}`, { token: minter })).status).toBe(200);
    expect((await api.call('GET', '/api/v1/user', { token: victim })).status).toBe(401);
  });

  it('a token without deployments:create gets 403 for a deploy and no deployment is created', async () => {
    const noDeploy = await api.token(
      'dora',
      ['environments:create'],
      [{ project: 'shop', role: 'deployer' }],
    );
    const reply = await api.call('POST', '/api/v1/projects/shop/deployments', {
      token: noDeploy,
      body: { environment: 'staging' },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.message).toContain('deployments:create');
    expect(await api.stack.em().count(Deployment, {})).toBe(0);
  });

  it('applies the member role on top of the scope: a viewer with every scope cannot deploy', async () => {
    const viewer = await api.token('victor', 'all', [{ project: 'shop', role: 'viewer' }]);
    const reply = await api.call('POST', '/api/v1/projects/shop/deployments', {
      token: viewer,
      body: { environment: 'staging' },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.message).toMatch(/deployer role on shop/);
    expect((await api.call('GET', '/api/v1/projects/shop', { token: viewer })).status).toBe(200);
    const stranger = await api.token('stranger', 'all');
    expect((await api.call('GET', '/api/v1/projects/shop', { token: stranger })).status).toBe(403);
    const visible = await api.call<{ projects: unknown[] }>('GET', '/api/v1/projects', { token: stranger });
    expect(visible.body.projects).toEqual([]);
  });

  it('answers 404 for unknown projects and routes, with the JSON error shape', async () => {
    const missing = await api.call('GET', '/api/v1/projects/nope', { token: root });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'not_found' });
    const route = await api.call('GET', '/api/v1/nothing-here', { token: root });
    expect(route.status).toBe(404);
    expect(route.body).toMatchObject({ error: 'not_found' });
  });

  it('answers 401 for an expired token', async () => {
    const soon = await api.token('temp', []);
    expect((await api.call('GET', '/api/v1/user', { token: soon })).status).toBe(200);
    await database.query(
      `update api_tokens set expires_at = now() - interval '1 minute' where name = 'temp-token'`,
    );
    const expired = await api.call('GET', '/api/v1/user', { token: soon });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ message: 'That API token has expired.' });
  });

  it('tracks when a token was last used, at most once a minute', async () => {
    const fresh = await api.token('lu', []);
    await api.call('GET', '/api/v1/user', { token: fresh });
    const row = await api.stack.em().findOneOrFail(ApiToken, { name: 'lu-token' });
    expect(row.lastUsedAt).toBeInstanceOf(Date);
  });
});

describe('REST API rate limit', () => {
  let database: TestDatabase;
  let api: ApiStack;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database, {
      SLIPWAY_API_RATE_LIMIT: '5',
      SLIPWAY_API_RATE_WINDOW_SECONDS: '30',
    });
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  it('answers 429 with Retry-After once a token is over its limit, per token', async () => {
    const first = await api.token('one', []);
    const second = await api.token('two', []);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await api.call('GET', '/api/v1/user', { token: first })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await api.call('GET', '/api/v1/user', { token: first });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: 'too_many_requests' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('5');
    // Another token has its own budget.
    expect((await api.call('GET', '/api/v1/user', { token: second })).status).toBe(200);
  });
});
