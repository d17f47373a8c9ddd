import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConsoleSignIn } from '../../src/core/access/index.js';
import { startChatSlipway } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runSlipway } from '../support/service-process.js';

/**
 * Issue 14, item 1: the console's identity comes from a one-time sign-in link, never from a name
 * typed next to a shared token; sessions are random, stored hashed, expiring and revocable.
 */
describe('web console sign-in per person', () => {
  let database: TestDatabase;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  const slackAdmin = { platform: 'slack' as const, workspace: 'T1', userId: 'UADMIN', displayName: 'Grace' };
  const system = { memberId: null, name: 'test', source: 'test' };

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startChatSlipway(database, { SLIPWAY_ADMINS: 'slack:T1:UADMIN' });
  });
  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  const origin = () => ({ origin: stack.url });
  const post = (path: string, body: unknown, headers: Record<string, string> = origin()) =>
    fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const signIn = async (identity = slackAdmin) => {
    const link = await stack.slipway.services.consoleSignIn.issueLink(system, identity);
    const token = ConsoleSignIn.tokenOf(link.url)!;
    const response = await post('/console/sign-in', { token });
    return { link, token, response, cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]! };
  };

  it('has no typed-name login: a shared token and any name get nobody in', async () => {
    const old = await post('/console/login', { user: 'admin', token: 'console-token-for-tests-0123456789' });
    expect(old.status).toBe(404);
    const me = await fetch(`${stack.url}/console/api/me`, {
      headers: { cookie: 'slipway_console=admin.abc' },
    });
    expect(me.status).toBe(401);
    // A forged cookie in the old HMAC(name) shape is no session.
    const forged = await fetch(`${stack.url}/console/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'slipway_console=admin.x', ...origin() },
      body: JSON.stringify({ text: 'help' }),
    });
    expect(forged.status).toBe(401);
  });

  it('a link signs its identity in once, within 15 minutes; the session is that identity', async () => {
    const { link, token, response, cookie } = await signIn();
    expect(link.url).toMatch(/\/console#sign-in=[A-Za-z0-9_-]{43}$/);
    expect(link.expiresAt.getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(link.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: 'slack:T1:UADMIN', name: 'Grace' });
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect(setCookie).not.toMatch(/Secure/);
    // Used once: the second time it is refused.
    expect((await post('/console/sign-in', { token })).status).toBe(401);
    // Only hashes are stored.
    const value = decodeURIComponent(cookie.split('=')[1]!);
    const rows = await database.query<{ token_hash: string }>(
      'select token_hash from console_sessions union all select token_hash from console_sign_in_links',
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) {
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.token_hash).not.toBe(value);
      expect(row.token_hash).not.toBe(token);
    }
    // The console's identity is the signed-in one: a global admin (SLIPWAY_ADMINS) on Slack.
    const me = await fetch(`${stack.url}/console/api/me`, { headers: { cookie } });
    expect(await me.json()).toEqual({ user: 'slack:T1:UADMIN', name: 'Grace' });
    const command = await fetch(`${stack.url}/console/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, ...origin() },
      body: JSON.stringify({ text: 'members list nope' }),
    });
    expect(command.status).toBe(200);
    const reply = stack.slipway.adapters.find((a) => a.platform === 'web') as unknown as {
      messages(): { reply: { text: string } }[];
    };
    // An admin's refusal would say "You need the admin role"; Grace gets to the project lookup.
    expect(reply.messages().at(-1)?.reply.text).toMatch(/There is no project "nope"/);
  });

  it('refuses an expired link', async () => {
    const link = await stack.slipway.services.consoleSignIn.issueLink(system, slackAdmin);
    await database.query(`update console_sign_in_links set expires_at = now() - interval '1 second'`);
    expect((await post('/console/sign-in', { token: ConsoleSignIn.tokenOf(link.url) })).status).toBe(401);
  });

  it('sessions expire, and logout revokes them at once', async () => {
    const first = await signIn();
    const second = await signIn();
    const me = (cookie: string) => fetch(`${stack.url}/console/api/me`, { headers: { cookie } });
    expect((await me(first.cookie)).status).toBe(200);
    const out = await fetch(`${stack.url}/console/logout`, {
      method: 'POST',
      headers: { cookie: first.cookie, ...origin() },
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await me(first.cookie)).status).toBe(401);
    // The other session is untouched until it expires.
    expect((await me(second.cookie)).status).toBe(200);
    await database.query(`update console_sessions set expires_at = now() - interval '1 second'`);
    expect((await me(second.cookie)).status).toBe(401);
  });

  it('checks the Origin of every state-changing request', async () => {
    const { cookie } = await signIn();
    for (const headers of [{ origin: 'https://evil.example' }, {}] as Record<string, string>[]) {
      const command = await post('/console/api/command', { text: 'help' }, { cookie, ...headers });
      expect(command.status, JSON.stringify(headers)).toBe(403);
      const action = await post(
        '/console/api/action',
        { actionId: 'approve', value: '1', messageId: 1 },
        { cookie, ...headers },
      );
      expect(action.status).toBe(403);
      const logout = await post('/console/logout', {}, { cookie, ...headers });
      expect(logout.status).toBe(403);
    }
    const link = await stack.slipway.services.consoleSignIn.issueLink(system, slackAdmin);
    const crossSite = await post(
      '/console/sign-in',
      { token: ConsoleSignIn.tokenOf(link.url) },
      { origin: 'https://evil.example' },
    );
    expect(crossSite.status).toBe(403);
    // The session still works from the console's own page.
    expect((await post('/console/api/command', { text: 'help' }, { cookie, ...origin() })).status).toBe(200);
  });

  it('/slipway console on a chat platform answers privately with a link for that identity', async () => {
    const someone = { platform: 'slack' as const, workspace: 'T1', userId: 'UDEV', displayName: 'Dev' };
    const result = await stack.slipway.chat.router.dispatch({
      user: someone,
      conversation: { channel: 'C1' },
      command: null,
      text: 'console',
    });
    expect(result.reply.ephemeral).toBe(true);
    const url = /https?:\/\/\S+#sign-in=\S+/.exec(result.reply.text)?.[0];
    expect(url).toBeDefined();
    const response = await post('/console/sign-in', { token: ConsoleSignIn.tokenOf(url!) });
    expect(await response.json()).toEqual({ user: 'slack:T1:UDEV', name: 'Dev' });
  });
});

describe('console sign-in settings and the CLI', () => {
  it('marks the cookie Secure behind https (SLIPWAY_PUBLIC_URL)', async () => {
    const database = await createTestDatabase();
    const stack = await startChatSlipway(database, { SLIPWAY_PUBLIC_URL: 'https://slipway.example.test' });
    try {
      const link = await stack.slipway.services.consoleSignIn.issueLink(
        { memberId: null, name: 't', source: 'test' },
        { platform: 'web', workspace: 'local', userId: 'ada', displayName: 'ada' },
      );
      expect(link.url.startsWith('https://slipway.example.test/console#sign-in=')).toBe(true);
      const response = await fetch(`${stack.url}/console/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://slipway.example.test' },
        body: JSON.stringify({ token: ConsoleSignIn.tokenOf(link.url) }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('set-cookie')).toMatch(/; Secure/);
    } finally {
      await stack.stop();
      await database.drop();
    }
  });

  it('refuses the old SLIPWAY_WEB_TOKEN with a message saying what replaced it', () => {
    expect(() => loadConfig({ SLIPWAY_WEB_TOKEN: 'a-console-token-of-length' })).toThrow(
      /SLIPWAY_WEB_TOKEN: is no longer used: .*console-login/,
    );
  });

  it('slipway console-login prints a one-time link for the identity it is given', async () => {
    const database = await createTestDatabase();
    const env = { DATABASE_URL: database.url, SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64') };
    try {
      const child = runSlipway(['console-login', 'web:local:reviewer'], env);
      const result = await child.exited;
      expect(result.code, child.output()).toBe(0);
      const url = /http\S+#sign-in=[A-Za-z0-9_-]{43}/.exec(child.output())?.[0];
      expect(url).toBeDefined();
      const rows = await database.query<{ platform: string; workspace: string; user_id: string }>(
        'select platform, workspace, user_id from console_sign_in_links',
      );
      expect(rows).toEqual([{ platform: 'web', workspace: 'local', user_id: 'reviewer' }]);
      const bad = runSlipway(['console-login', 'reviewer'], env);
      expect((await bad.exited).code).toBe(1);
      expect(bad.output()).toMatch(/platform:workspace:user/);
      const help = runSlipway(['--help'], {});
      await help.exited;
      expect(help.output()).toMatch(/console-login <platform:workspace:user>/);
    } finally {
      await database.drop();
    }
  }, 60_000);
});
