import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRedactor, envFileSecretValues, REDACTED } from '../../src/engine/redaction.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

/**
 * Issue 14, item 14: the env file is read the way dotenv reads it (quotes, escapes, inline
 * comments, `export`), and every value of 6+ characters and every value of a secret-looking key
 * stays out of step output, the API and the database.
 */
const ENV_FILE = [
  '# the app',
  'INLINE=inline-value-123 # a comment after the value',
  'ESCAPED="say \\"hello-secret\\" now"',
  'export EXPORTED=exported-value',
  "SINGLE='single # not a comment'",
  'API_TOKEN=abc',
  'DB_PASSWORD=pw9',
  'PORT=5432',
  'MULTI="line-one-secret',
  'line-two-secret"',
  'SPACED =  spaced-out-value  ',
  '',
].join('\n');

/** What the application sees, by key: the values that must never be printed in clear. */
const SECRETS = [
  'inline-value-123',
  'say "hello-secret" now',
  'exported-value',
  'single # not a comment',
  'abc',
  'pw9',
  'line-one-secret',
  'line-two-secret',
  'spaced-out-value',
];

describe('env file values as dotenv reads them', () => {
  it('finds each value, without comments, quotes or escapes', () => {
    const values = envFileSecretValues(ENV_FILE);
    for (const secret of ['inline-value-123', 'exported-value', 'single # not a comment'])
      expect(values, secret).toContain(secret);
    expect(values).toContain('say "hello-secret" now');
    expect(values).toContain('line-one-secret\nline-two-secret');
    expect(values).toContain('spaced-out-value');
  });

  it('redacts long values and every value of a secret-looking key, not short ordinary ones', () => {
    const redactor = buildRedactor({ envFile: ENV_FILE });
    const printed = `${SECRETS.join(' | ')} | port 5432`;
    const redacted = redactor.redact(printed);
    for (const secret of SECRETS) expect(redacted, secret).not.toContain(secret);
    expect(redacted).toContain(REDACTED);
    // PORT is short and not secret-looking: ordinary output keeps it.
    expect(redacted).toContain('port 5432');
  });
});

describe('redaction end to end: step output, the API and the database', () => {
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

  it('a hook that prints the env file as the app sees it shows no secret anywhere', async () => {
    const file = await api.call('PUT', '/api/v1/projects/shop/environment', {
      token: root,
      // bash cannot source `KEY = value`; the rest it reads as dotenv does.
      body: { key: 'the-environment-key', contents: ENV_FILE.replace(/^SPACED.*\n/m, '') },
    });
    expect(file.status, file.text).toBe(200);
    // bash reads .env like dotenv: quotes, escapes and inline comments.
    const hook = await api.call('POST', '/api/v1/projects/shop/hooks', {
      token: root,
      body: {
        name: 'print',
        action: 'activate',
        timing: 'after',
        script:
          'set -a; . ./.env; set +a; printf "%s\\n" "$INLINE" "$ESCAPED" "$EXPORTED" "$SINGLE" "$API_TOKEN" "$DB_PASSWORD" "$MULTI" "port $PORT"; cat .env',
      },
    });
    expect(hook.status, hook.text).toBe(201);
    const created = await api.call<{ deployment: { id: string } }>(
      'POST',
      '/api/v1/projects/shop/deployments',
      {
        token: root,
        body: { environment: 'staging' },
      },
    );
    expect(created.status, created.text).toBe(201);
    const done = await api.waitFor(created.body.deployment.id, ended);
    expect(done.status).toBe('finished');

    const rows = await database.query<{ name: string; output: string | null; output_tail: string | null }>(
      `select name, output, output_tail from deployment_steps where deployment_id = $1`,
      [created.body.deployment.id],
    );
    const printed = rows.find((row) => row.name.includes('print'));
    expect(printed?.output).toContain('port 5432');
    expect(printed?.output).toContain(REDACTED);
    const shown = await api.call('GET', `/api/v1/projects/shop/deployments/${created.body.deployment.id}`, {
      token: root,
    });
    for (const secret of SECRETS) {
      for (const row of rows) {
        expect(row.output ?? '', `${row.name} output: ${secret}`).not.toContain(secret);
        expect(row.output_tail ?? '', `${row.name} tail: ${secret}`).not.toContain(secret);
      }
      expect(shown.text, `API: ${secret}`).not.toContain(secret);
    }
  }, 60_000);
});
