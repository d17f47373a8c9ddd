import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Discord, both ways:
 * - it sends interactions to Slipway as Discord does — real-format JSON signed with the
 *   application's Ed25519 key (a throwaway one made here) — and applies Slipway's HTTP answer
 *   (pong, a message, a deferral, an update, autocomplete choices);
 * - it serves the REST API (v10) the real discord.js client calls: interaction webhooks (edit the
 *   original response, follow-ups, delete), channel messages through the bot, the application
 *   and the bot user, and command registration — with Discord's rules: a deferred response
 *   shows "thinking…" until edited, the first follow-up to a deferral takes it over with the
 *   deferral's visibility, ephemeral messages cannot be reached by the bot, an expired
 *   interaction token gets 401 50027, unknown ones 404 10015, X-RateLimit headers on every
 *   answer and 429s (per route or global) when told to.
 * Every request and answer is recorded, in order, for assertions and transcripts.
 */

export interface DiscordUser {
  id: string;
  username: string;
  global_name: string;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  author: { id: string; username: string; bot: true };
  content: string;
  embeds: Record<string, unknown>[];
  components: Record<string, unknown>[];
  flags: number;
  allowed_mentions?: unknown;
  /** Deferred (type 5) and not yet given content: Discord shows "… is thinking". */
  loading: boolean;
  deleted: boolean;
  edits: number;
}

interface InteractionState {
  id: string;
  token: string;
  channelId: string;
  expired: boolean;
  /** The interaction's original response (or, for a click, the message clicked). */
  originalId: string | null;
  followUps: Set<string>;
  /** Settles when Slipway's HTTP answer to the interaction has been applied. */
  answered: Promise<void>;
}

export interface RecordedRest {
  at: number;
  method: string;
  /** Decoded path without the /api/v10 prefix, e.g. `/webhooks/<app>/<token>/messages/@original`. */
  path: string;
  query: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | null;
  status: number;
  response: unknown;
}

export interface TranscriptEntry {
  at: number;
  kind: 'interaction' | 'rest';
  summary: string;
  request: unknown;
  status: number;
  response: unknown;
}

interface RateLimitRule {
  match: (method: string, path: string) => boolean;
  retryAfter: number;
  global: boolean;
}

const BOT = { id: '', username: 'Slipway', bot: true as const };
const EPHEMERAL = 64;

export async function startDiscordFake(
  options: { applicationId?: string; botToken?: string; lenient?: boolean } = {},
) {
  const applicationId = options.applicationId ?? '1180000000000000001';
  const botToken = options.botToken ?? 'MTE4MDAwMDAwMDAwMDAwMDAwMQ.fake.bot-token-for-tests';
  const bot = { ...BOT, id: applicationId };
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyHex = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
    .subarray(12)
    .toString('hex');
  let next = 1_300_000_000_000_000_000n;
  const snowflake = () => String(next++);
  const messages = new Map<string, FakeMessage>();
  const interactions = new Map<string, InteractionState>();
  const requests: RecordedRest[] = [];
  const transcript: TranscriptEntry[] = [];
  const limits: RateLimitRule[] = [];
  const registered = new Map<string, unknown[]>();
  const waiters: (() => void)[] = [];
  let expireAfterFirstEdit = false;

  const wake = () => {
    for (const resolve of waiters.splice(0)) resolve();
  };

  const messageJson = (m: FakeMessage) => ({
    id: m.id,
    type: 20,
    channel_id: m.channel_id,
    author: m.author,
    content: m.content,
    embeds: m.embeds,
    components: m.components,
    flags: m.flags,
    attachments: [],
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    tts: false,
    timestamp: new Date().toISOString(),
    edited_timestamp: m.edits ? new Date().toISOString() : null,
    application_id: applicationId,
  });

  const create = (
    channelId: string,
    data: Record<string, unknown> | undefined,
    loading = false,
  ): FakeMessage => {
    const message: FakeMessage = {
      id: snowflake(),
      channel_id: channelId,
      author: bot,
      content: String(data?.content ?? ''),
      embeds: (data?.embeds as Record<string, unknown>[]) ?? [],
      components: (data?.components as Record<string, unknown>[]) ?? [],
      flags: Number(data?.flags ?? 0) & EPHEMERAL,
      allowed_mentions: data?.allowed_mentions,
      loading,
      deleted: false,
      edits: 0,
    };
    messages.set(message.id, message);
    return message;
  };

  const edit = (message: FakeMessage, data: Record<string, unknown>) => {
    if ('content' in data) message.content = String(data.content ?? '');
    if ('embeds' in data) message.embeds = (data.embeds as Record<string, unknown>[]) ?? [];
    if ('components' in data) message.components = (data.components as Record<string, unknown>[]) ?? [];
    if ('allowed_mentions' in data) message.allowed_mentions = data.allowed_mentions;
    message.loading = false;
    message.edits++;
  };

  const error = (status: number, code: number, message: string) => ({ status, body: { message, code } });

  /** The REST API, after rate limits and the wait for the interaction's answer. */
  async function route(
    method: string,
    path: string,
    query: URLSearchParams,
    headers: IncomingMessage['headers'],
    body: Record<string, unknown> | null,
  ): Promise<{ status: number; body: unknown }> {
    const botAuthorized = headers.authorization === `Bot ${botToken}`;
    const webhook = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/.exec(path);
    if (webhook) {
      const [, app, token = '', target] = webhook;
      if (app !== applicationId) return error(404, 10015, 'Unknown Webhook');
      let state = interactions.get(token);
      if (!state && options.lenient) {
        // The benchmark's interactions come from another process: take any token as a deferral.
        const original = create('1190000000000000001', {}, true);
        state = {
          id: snowflake(),
          token,
          channelId: original.channel_id,
          expired: false,
          originalId: original.id,
          followUps: new Set(),
          answered: Promise.resolve(),
        };
        interactions.set(token, state);
      }
      if (!state) return error(404, 10015, 'Unknown Webhook');
      await Promise.race([state.answered, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (state.expired) return error(401, 50027, 'Invalid Webhook Token');
      const id = target === '@original' ? state.originalId : target;
      if (method === 'POST' && !target) {
        const original = state.originalId ? messages.get(state.originalId) : undefined;
        if (original?.loading && !original.deleted) {
          // Discord: the first follow-up to a deferral takes over its "thinking" message, and keeps its flags.
          edit(original, body ?? {});
          return { status: 200, body: messageJson(original) };
        }
        const message = create(state.channelId, body ?? {});
        state.followUps.add(message.id);
        return { status: 200, body: messageJson(message) };
      }
      const message = id ? messages.get(id) : undefined;
      if (!message || message.deleted || (id !== state.originalId && !state.followUps.has(id ?? ''))) {
        return error(404, 10008, 'Unknown Message');
      }
      if (method === 'PATCH') {
        edit(message, body ?? {});
        if (expireAfterFirstEdit) state.expired = true;
        return { status: 200, body: messageJson(message) };
      }
      if (method === 'DELETE') {
        message.deleted = true;
        return { status: 204, body: null };
      }
      if (method === 'GET') return { status: 200, body: messageJson(message) };
      return error(405, 0, '405: Method Not Allowed');
    }
    if (!botAuthorized) return error(401, 0, '401: Unauthorized');
    if (method === 'GET' && path === '/applications/@me') {
      return {
        status: 200,
        body: { id: applicationId, name: 'Slipway', description: '', bot_public: false, flags: 0, bot },
      };
    }
    if (method === 'GET' && path === '/users/@me')
      return { status: 200, body: { ...bot, discriminator: '0' } };
    const commands = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path);
    if (commands && method === 'PUT') {
      if (commands[1] !== applicationId) return error(403, 50001, 'Missing Access');
      const list = (Array.isArray(body) ? body : []) as Record<string, unknown>[];
      const saved = list.map((command) => ({
        ...command,
        id: snowflake(),
        application_id: applicationId,
        version: snowflake(),
        ...(commands[2] ? { guild_id: commands[2] } : {}),
      }));
      registered.set(commands[2] ?? 'global', saved);
      return { status: 200, body: saved };
    }
    const channel = /^\/channels\/(\d+)\/messages(?:\/(\d+))?$/.exec(path);
    if (channel) {
      const [, channelId = '', messageId] = channel;
      if (method === 'POST' && !messageId) {
        return { status: 200, body: messageJson(create(channelId, body ?? {})) };
      }
      const message = messageId ? messages.get(messageId) : undefined;
      // The bot cannot see ephemeral messages, nor messages in another channel.
      if (!message || message.deleted || message.channel_id !== channelId || message.flags & EPHEMERAL) {
        return error(404, 10008, 'Unknown Message');
      }
      if (method === 'PATCH') {
        edit(message, body ?? {});
        return { status: 200, body: messageJson(message) };
      }
      if (method === 'GET') return { status: 200, body: messageJson(message) };
    }
    void query;
    return error(404, 0, '404: Not Found');
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const url = new URL(request.url ?? '/', 'http://discord.invalid');
        const method = request.method ?? 'GET';
        const path = decodeURIComponent(url.pathname.replace(/^\/api\/v10/, ''));
        let body: Record<string, unknown> | null = null;
        try {
          body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
        } catch {
          body = null;
        }
        const rule = limits.findIndex((limit) => limit.match(method, path));
        let status: number;
        let answer: unknown;
        const bucket = `${method}:${path.replace(/\d{15,}/g, ':id').replace(/\/webhooks\/:id\/[^/]+/, '/webhooks/:id/:token')}`;
        response.setHeader('content-type', 'application/json');
        if (rule >= 0) {
          const [limit] = limits.splice(rule, 1);
          const seconds = limit?.retryAfter ?? 1;
          status = 429;
          answer = { message: 'You are being rate limited.', retry_after: seconds, global: !!limit?.global };
          response.setHeader('retry-after', String(Math.ceil(seconds)));
          response.setHeader('x-ratelimit-scope', limit?.global ? 'global' : 'user');
          if (limit?.global) response.setHeader('x-ratelimit-global', 'true');
          else {
            response.setHeader('x-ratelimit-limit', '5');
            response.setHeader('x-ratelimit-remaining', '0');
            response.setHeader('x-ratelimit-reset-after', String(seconds));
            response.setHeader('x-ratelimit-bucket', Buffer.from(bucket).toString('hex').slice(0, 32));
          }
        } else {
          const result = await route(method, path, url.searchParams, request.headers, body);
          status = result.status;
          answer = result.body;
          response.setHeader('x-ratelimit-limit', '50');
          response.setHeader('x-ratelimit-remaining', '49');
          response.setHeader('x-ratelimit-reset-after', '1');
          response.setHeader('x-ratelimit-bucket', Buffer.from(bucket).toString('hex').slice(0, 32));
        }
        const recorded: RecordedRest = {
          at: Date.now(),
          method,
          path,
          query: url.search,
          headers: request.headers,
          body,
          status,
          response: answer,
        };
        requests.push(recorded);
        transcript.push({
          at: recorded.at,
          kind: 'rest',
          summary: `${method} /api/v10${path}${url.search} → ${status}`,
          request: body,
          status,
          response: answer,
        });
        response.statusCode = status;
        if (status === 204) response.removeHeader('content-type');
        response.end(status === 204 ? undefined : JSON.stringify(answer));
        wake();
      })();
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    /** DISCORD_API_URL for Slipway. */
    apiUrl: `${url}/api/v10`,
    applicationId,
    botToken,
    publicKeyHex,
    privateKey,
    bot,
    requests,
    messages,
    transcript,
    registered,
    snowflake,
    clear: () => {
      requests.splice(0);
      transcript.splice(0);
    },
    /** The next request matching `match` gets a 429 (`global`: for every route). */
    rateLimitNext(match: (method: string, path: string) => boolean, retryAfter: number, global = false) {
      limits.push({ match, retryAfter, global });
    },
    /** From now on, every interaction token expires right after its first successful edit. */
    expireTokensAfterFirstEdit(on = true) {
      expireAfterFirstEdit = on;
    },
    /** Signs an interaction as Discord does and posts it to Slipway; applies Slipway's answer. */
    async interact(
      slipwayUrl: string,
      interaction: Record<string, unknown> & { id: string; token: string; channel_id?: string },
      signing: { timestamp?: number; signature?: string | null; key?: KeyObject } = {},
    ) {
      const channelId = String(interaction.channel_id ?? '');
      let settle = () => {};
      const answered = new Promise<void>((resolve) => {
        settle = resolve;
      });
      const state: InteractionState = {
        id: interaction.id,
        token: interaction.token,
        channelId,
        expired: false,
        originalId: null,
        followUps: new Set(),
        answered,
      };
      if (!interactions.has(interaction.token)) interactions.set(interaction.token, state);
      const held = interactions.get(interaction.token) as InteractionState;
      const raw = JSON.stringify(interaction);
      const timestamp = String(signing.timestamp ?? Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'Discord-Interactions/1.0 (+https://discord.com)',
        'x-signature-timestamp': timestamp,
      };
      const signature =
        signing.signature === undefined
          ? sign(null, Buffer.from(timestamp + raw), signing.key ?? privateKey).toString('hex')
          : signing.signature;
      if (signature !== null) headers['x-signature-ed25519'] = signature;
      const started = performance.now();
      const response = await fetch(`${slipwayUrl}/discord/interactions`, {
        method: 'POST',
        headers,
        body: raw,
      });
      const ms = performance.now() - started;
      const text = await response.text();
      let answer: { type?: number; data?: Record<string, unknown> } | null = null;
      try {
        answer = JSON.parse(text);
      } catch {
        answer = null;
      }
      if (response.status === 200 && answer && held === state) {
        const data = answer.data;
        if (answer.type === 4) held.originalId = create(channelId, data).id;
        if (answer.type === 5) held.originalId = create(channelId, data, true).id;
        const clicked = (interaction.message as { id?: string } | undefined)?.id;
        if ((answer.type === 6 || answer.type === 7) && clicked) {
          held.originalId = clicked;
          const message = messages.get(clicked);
          if (answer.type === 7 && message && data) edit(message, data);
        }
      }
      settle();
      transcript.push({
        at: Date.now(),
        kind: 'interaction',
        summary: `POST /discord/interactions (type ${String(interaction.type)}) → ${response.status}`,
        request: interaction,
        status: response.status,
        response: answer ?? text,
      });
      wake();
      return {
        status: response.status,
        body: answer,
        ms,
        token: interaction.token,
        original: () => message(held.originalId),
      };
    },
    /** The interaction's state (tests). */
    interaction: (token: string) => interactions.get(token),
    message,
    /** Waits until a recorded REST request satisfies `match`. */
    async waitFor(match: (request: RecordedRest) => boolean, timeoutMs = 30_000): Promise<RecordedRest> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = requests.find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching Discord request; got ${requests.map((r) => `${r.method} ${r.path} ${r.status}`).join(', ')}`,
          );
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function message(id: string | null | undefined): FakeMessage | undefined {
    return id ? messages.get(id) : undefined;
  }
}

export type DiscordFake = Awaited<ReturnType<typeof startDiscordFake>>;

/** A random interaction token, shaped like Discord's. */
export function interactionToken(): string {
  return `aW50ZXJhY3Rpb246${randomBytes(96).toString('base64url')}`;
}

/** All the text Discord would show for a message body: content, embeds and button labels. */
export function shownText(body: unknown): string {
  return JSON.stringify(body);
}
