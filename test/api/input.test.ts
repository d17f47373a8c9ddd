import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatUser } from '../../src/chat/model.js';
import { withConstraintErrors } from '../../src/db/constraint-errors.js';
import { isSlipwayError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

/**
 * Issue 14, item 13: bad input gets a specific 4xx (never a 500, never SQL), the role is checked
 * before the body is validated, and linked folders cannot collide with the env file.
 */
describe('bad input: NUL, broken characters, forged ids, roles before validation', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let stranger: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    root = await api.rootToken();
    stranger = await api.token('stranger', 'all');
    await api.project(root, 'shop', [{ name: 'staging', tier: 'staging' }]);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  /** JSON with a raw escape in it: `\u0000` or a lone `\ud800` arrives as that character. */
  const rawCall = async (method: string, path: string, token: string, json: string) => {
    const response = await fetch(`${api.stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: json,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('refuses NUL and lone surrogates in any string of a body with 422, changing nothing', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/api/v1/projects/shop/environments/staging', '{"description":"a\\u0000b"}'],
      ['POST', '/api/v1/projects/shop/environments/staging/lock', '{"reason":"x\\u0000"}'],
      ['POST', '/api/v1/tokens', '{"name":"n\\u0000","scopes":[]}'],
      ['PUT', '/api/v1/projects/shop/environments/staging', '{"description":"broken \\ud800 half"}'],
      ['POST', '/api/v1/projects/shop/environments/staging/lock', '{"reason":"\\udc00"}'],
      [
        'POST',
        '/api/v1/projects/shop/hooks',
        '{"name":"h","script":"true","action":"activate","timing":"after","servers":["a\\u0000"]}',
      ],
    ];
    for (const [method, path, json] of cases) {
      const reply = await rawCall(method, path, root, json);
      expect(reply.status, `${method} ${path} ${json}`).toBe(422);
      expect(reply.body.error).toBe('invalid_input');
      expect(JSON.stringify(reply.body.errors)).toMatch(/NUL|broken character/);
    }
    expect(await database.query(`select 1 from locks`)).toHaveLength(0);
    expect(await database.query(`select description from environments`)).toEqual([{ description: null }]);
  });

  it('refuses NUL in a path or a query string with 422', async () => {
    for (const path of [
      '/api/v1/projects/shop/servers/local%00-1',
      '/api/v1/projects/shop/environments/stag%00ing',
      '/api/v1/projects/sh%00op',
      '/api/v1/projects/shop/deployments?status=%00',
    ]) {
      const reply = await api.call('GET', path, { token: root });
      expect(reply.status, path).toBe(422);
    }
    // Bytes that are no UTF-8 at all (an encoded lone surrogate): refused, not a crash.
    const garbled = await api.call('GET', '/api/v1/projects/shop/servers/%ED%A0%80x', { token: root });
    expect(garbled.status).toBeGreaterThanOrEqual(400);
    expect(garbled.status).toBeLessThan(500);
  });

  it('checks the role before the body: a stranger gets 403 whatever the body says', async () => {
    const invalid = await api.call('PUT', '/api/v1/projects/shop/environments/staging', {
      token: stranger,
      body: { tier: 'not-a-tier' },
    });
    expect(invalid.status).toBe(403);
    const valid = await api.call('PUT', '/api/v1/projects/shop/environments/staging', {
      token: stranger,
      body: { tier: 'staging' },
    });
    expect(valid.status).toBe(403);
    const folders = await api.call('POST', '/api/v1/projects/shop/folders', {
      token: stranger,
      body: { from: 42 },
    });
    expect(folders.status).toBe(403);
    // A project name that could never exist is answered as an unknown one, not as a crash.
    const odd = await api.call('PUT', '/api/v1/projects/no%20such/environments/x', {
      token: stranger,
      body: { tier: 'nope' },
    });
    expect([403, 404]).toContain(odd.status);
  });

  it('refuses linked folders that collide with the env file or leave shared/', async () => {
    for (const folder of [
      { from: 'config', to: '.env' },
      { from: '.env', to: 'config' },
      { from: 'storage', to: '.env/inner' },
      { from: 'storage', to: 'a/../../etc' },
      { from: '../outside', to: 'storage' },
    ]) {
      const reply = await api.call('POST', '/api/v1/projects/shop/folders', { token: root, body: folder });
      expect(reply.status, JSON.stringify(folder)).toBe(422);
    }
    expect(await database.query('select 1 from linked_folders')).toHaveLength(0);
    const fine = await api.call('POST', '/api/v1/projects/shop/folders', {
      token: root,
      body: { from: 'storage', to: 'storage' },
    });
    expect(fine.status).toBe(201);
  });

  const chatUser: ChatUser = { platform: 'web', workspace: 'local', userId: 'root', displayName: 'root' };
  const conversation = { channel: 'console' };

  it('validates button values before any query: a forged id is refused with the usage, not a crash', async () => {
    for (const value of ['-'.repeat(36), 'abcdefabcdefabcdefabcdefabcdefabcdef', '99999999999']) {
      for (const actionId of ['approve', 'reject', 'cancel']) {
        const result = await api.slipway.chat.router.action({
          user: chatUser,
          conversation,
          actionId,
          value,
          message: null,
        });
        expect(result.reply.text, `${actionId} ${value}`).not.toContain('Something went wrong');
        expect(result.reply.status).toBe('error');
      }
    }
  });

  it('refuses NUL and lone surrogates in chat text with a clear reply', async () => {
    for (const text of ['shop staging reason\u0000here', 'shop staging broken \ud800']) {
      const result = await api.slipway.chat.router.dispatch({
        user: chatUser,
        conversation,
        command: 'lock',
        text,
      });
      expect(result.reply.text).not.toContain('Something went wrong');
      expect(result.reply.text).toMatch(/NUL|broken character/);
    }
    expect(await database.query(`select 1 from locks`)).toHaveLength(0);
  });

  it('maps database errors caused by input to invalid_input, not an unexplained failure', async () => {
    const em = api.stack.em();
    const attempt = (sql: string) =>
      withConstraintErrors(() => em.getConnection().execute(sql, [], 'all')).then(
        () => null,
        (error: unknown) => error,
      );
    for (const sql of [
      `select 'not-a-uuid'::uuid`,
      `select 99999999999::int4`,
      `select 'x'::varchar(1) || repeat('y', 2)::varchar(1)`,
      `insert into projects (id, name) values ('${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}', repeat('n', 300))`,
    ]) {
      const error = await attempt(sql);
      if (error === null) continue;
      expect(isSlipwayError(error, 'invalid_input'), `${sql}: ${String(error)}`).toBe(true);
    }
    expect(isSlipwayError(await attempt(`select 'not-a-uuid'::uuid`), 'invalid_input')).toBe(true);
  });
});
