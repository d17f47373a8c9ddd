import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ChatUser, CommandResult, Reply } from '../../src/chat/model.js';
import { isActionId } from '../../src/chat/model.js';
import type { ProgressNotifier } from '../../src/chat/progress.js';
import type { ChatRouter } from '../../src/chat/router.js';
import type { Logger } from '../../src/logger.js';
import { CONSOLE_HTML } from './page.js';

const COOKIE = 'slipway_console';
const CHANNEL = 'console';
const HISTORY = 200;

interface ConsoleMessage {
  id: number;
  /** Who typed the command that produced it. */
  author: string | null;
  reply: Reply;
  /** Ephemeral messages are shown to this user only. */
  visibleTo: string | null;
  /** The echo of what someone typed, not a reply of Slipway's. */
  echo?: boolean;
}

const loginBody = z.object({
  user: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
  token: z.string().min(1).max(500),
});
const commandBody = z.object({ text: z.string().min(1).max(2000) });
const actionBody = z.object({
  actionId: z.string().max(100),
  value: z.string().max(100),
  messageId: z.number().int(),
});

/**
 * The web console at /console: type the same commands, click the same buttons, see the same
 * replies, updated live over server-sent events. Everyone logged in shares one channel;
 * ephemeral replies go to their author only. Login: the console token (SLIPWAY_WEB_TOKEN, or
 * generated at start) plus a name; the session is an HMAC-signed cookie.
 */
export function registerWebConsole(options: {
  http: FastifyInstance;
  router: ChatRouter;
  notifier: ProgressNotifier;
  token: string;
  logger: Logger;
}): { messages: () => ConsoleMessage[] } {
  const { http, router, notifier, token } = options;
  const logger = options.logger.child({ component: 'web-console' });
  const messages = new Map<number, ConsoleMessage>();
  const clients = new Set<{ user: string; raw: ServerResponse }>();
  let nextId = 1;

  const sign = (user: string) => createHmac('sha256', token).update(`console:${user}`).digest('base64url');
  const userOf = (request: FastifyRequest): string | null => {
    const cookie = (request.headers.cookie ?? '')
      .split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${COOKIE}=`));
    if (!cookie) return null;
    const [user, mac] = decodeURIComponent(cookie.slice(COOKIE.length + 1)).split('.');
    if (!user || !mac || !/^[A-Za-z0-9._-]{1,80}$/.test(user)) return null;
    const expected = Buffer.from(sign(user));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? user : null;
  };
  const visible = (message: ConsoleMessage, user: string) => !message.visibleTo || message.visibleTo === user;
  const push = (message: ConsoleMessage) => {
    const data = `data: ${JSON.stringify({ id: message.id, author: message.author, echo: !!message.echo, reply: message.reply })}\n\n`;
    for (const client of clients) if (visible(message, client.user)) client.raw.write(data);
  };
  const store = (message: ConsoleMessage) => {
    messages.set(message.id, message);
    if (messages.size > HISTORY) messages.delete(Math.min(...messages.keys()));
    push(message);
  };
  const deliver = async (result: CommandResult, user: string, replaceId: number | null) => {
    const ephemeral = !!result.reply.ephemeral;
    const target =
      replaceId !== null && result.replaceOriginal && !ephemeral ? messages.get(replaceId) : undefined;
    const message: ConsoleMessage = target
      ? { ...target, reply: result.reply }
      : { id: nextId++, author: user, reply: result.reply, visibleTo: ephemeral ? user : null };
    store(message);
    if (result.track && !ephemeral) {
      await notifier.posted(result.track, {
        platform: 'web',
        channel: CHANNEL,
        messageId: String(message.id),
      });
    }
    return message;
  };
  const chatUser = (user: string): ChatUser => ({
    platform: 'web',
    workspace: 'local',
    userId: user,
    displayName: user,
  });

  notifier.register({
    platform: 'web',
    update: async (posted, reply) => {
      const message = messages.get(Number(posted.messageId));
      if (message) store({ ...message, reply });
    },
  });

  http.get('/console', async (_request, reply) => {
    reply
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      )
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8');
    return CONSOLE_HTML;
  });

  http.post('/console/login', async (request, reply) => {
    const body = loginBody.safeParse(request.body);
    if (!body.success)
      return reply.code(400).send({ error: 'bad_request', message: 'Give a name and the token.' });
    const expected = createHmac('sha256', 'login').update(token).digest();
    const given = createHmac('sha256', 'login').update(body.data.token).digest();
    if (!timingSafeEqual(expected, given)) {
      logger.warn({ ip: request.ip }, 'console login refused');
      return reply.code(401).send({ error: 'unauthorized', message: 'That token is not right.' });
    }
    const value = encodeURIComponent(`${body.data.user}.${sign(body.data.user)}`);
    reply.header('set-cookie', `${COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict`);
    return { user: body.data.user };
  });

  http.get('/console/api/me', async (request, reply) => {
    const user = userOf(request);
    if (!user) return reply.code(401).send({ error: 'unauthorized', message: 'Log in first.' });
    return { user };
  });

  http.post('/console/api/command', async (request, reply) => {
    const user = userOf(request);
    if (!user) return reply.code(401).send({ error: 'unauthorized', message: 'Log in first.' });
    const body = commandBody.safeParse(request.body);
    if (!body.success) return reply.code(400).send({ error: 'bad_request', message: 'Type a command.' });
    const text = body.data.text.trim().replace(/^\//, '');
    const [first = '', ...rest] = text.split(/\s+/);
    const invocation = {
      user: chatUser(user),
      conversation: { channel: CHANNEL },
      command: first === 'slipway' ? null : first,
      text: first === 'slipway' ? rest.join(' ') : rest.join(' '),
    };
    store({ id: nextId++, author: user, reply: { text: `/${text}` }, visibleTo: null, echo: true });
    const result = await router.dispatch(invocation);
    const message = await deliver(result, user, null);
    return { id: message.id };
  });

  http.post('/console/api/action', async (request, reply) => {
    const user = userOf(request);
    if (!user) return reply.code(401).send({ error: 'unauthorized', message: 'Log in first.' });
    const body = actionBody.safeParse(request.body);
    if (!body.success || !isActionId(body.data.actionId)) {
      return reply.code(400).send({ error: 'bad_request', message: 'Unknown action.' });
    }
    const result = await router.action({
      user: chatUser(user),
      conversation: { channel: CHANNEL },
      actionId: body.data.actionId,
      value: body.data.value,
      message: { platform: 'web', channel: CHANNEL, messageId: String(body.data.messageId) },
    });
    const message = await deliver(result, user, body.data.messageId);
    return { id: message.id };
  });

  http.get('/console/api/events', async (request, reply) => {
    const user = userOf(request);
    if (!user) return reply.code(401).send({ error: 'unauthorized', message: 'Log in first.' });
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const client = { user, raw };
    for (const message of messages.values()) {
      if (visible(message, user)) {
        raw.write(
          `data: ${JSON.stringify({ id: message.id, author: message.author, echo: !!message.echo, reply: message.reply })}\n\n`,
        );
      }
    }
    clients.add(client);
    const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
    request.raw.on('close', () => {
      clearInterval(ping);
      clients.delete(client);
    });
  });

  http.addHook('preClose', async () => {
    for (const client of clients) client.raw.end();
    clients.clear();
  });

  return { messages: () => [...messages.values()] };
}
