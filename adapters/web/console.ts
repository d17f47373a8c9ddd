import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type {
  AdapterHealth,
  ChatAdapter,
  ChatHost,
  ChatUser,
  Command,
  Conversation,
  PostedMessage,
  Reply,
  Responder,
} from '../../src/chat/index.js';
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
export class WebConsoleAdapter implements ChatAdapter {
  readonly platform = 'web' as const;
  private readonly logger: Logger;
  private readonly history = new Map<number, ConsoleMessage>();
  private readonly clients = new Set<{ user: string; raw: ServerResponse }>();
  private nextId = 1;
  private readonly since = new Date();

  constructor(
    private readonly token: string,
    logger: Logger,
  ) {
    this.logger = logger.child({ component: 'web-console' });
  }

  /** Every message the console holds, oldest first (tests). */
  messages(): ConsoleMessage[] {
    return [...this.history.values()];
  }

  mount(http: FastifyInstance, host: ChatHost): void {
    const { token, logger } = this;
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
      this.store({
        id: this.nextId++,
        author: user,
        reply: { text: `/${text}` },
        visibleTo: null,
        echo: true,
      });
      const posted = await host.invoke(
        {
          user: chatUser(user),
          conversation: { channel: CHANNEL },
          command: first === 'slipway' ? null : first,
          text: rest.join(' '),
        },
        this.responder(user, null),
      );
      return { id: Number(posted?.messageId) };
    });

    http.post('/console/api/action', async (request, reply) => {
      const user = userOf(request);
      if (!user) return reply.code(401).send({ error: 'unauthorized', message: 'Log in first.' });
      const body = actionBody.safeParse(request.body);
      if (!body.success || !host.commands.some((command) => command.name === body.data.actionId)) {
        return reply.code(400).send({ error: 'bad_request', message: 'Unknown action.' });
      }
      const clicked = { platform: 'web', channel: CHANNEL, messageId: String(body.data.messageId) };
      const posted = await host.click(
        {
          user: chatUser(user),
          conversation: { channel: CHANNEL },
          actionId: body.data.actionId,
          value: body.data.value,
          message: clicked,
        },
        this.responder(user, clicked),
      );
      return { id: Number(posted?.messageId) };
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
      for (const message of this.history.values()) {
        if (visible(message, user)) raw.write(eventOf(message));
      }
      this.clients.add(client);
      const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
      request.raw.on('close', () => {
        clearInterval(ping);
        this.clients.delete(client);
      });
    });

    http.addHook('preClose', async () => {
      for (const client of this.clients) client.raw.end();
      this.clients.clear();
    });
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  render(reply: Reply): Reply {
    return reply;
  }

  async post(_conversation: Conversation, reply: Reply): Promise<PostedMessage | null> {
    return this.posted(this.store({ id: this.nextId++, author: null, reply, visibleTo: null }));
  }

  async update(posted: PostedMessage, reply: Reply): Promise<void> {
    const message = this.history.get(Number(posted.messageId));
    if (message) this.store({ ...message, reply });
  }

  /** Console users are named by what they typed at login: `@ada` or `ada`. */
  mention(invoker: ChatUser, token: string): ChatUser | null {
    const plain = /^@?([A-Za-z0-9._-]{1,80})$/.exec(token);
    return plain?.[1]
      ? { platform: invoker.platform, workspace: invoker.workspace, userId: plain[1], displayName: plain[1] }
      : null;
  }

  registration(_commands: readonly Command[], _publicUrl: string): null {
    return null;
  }

  /** The console takes every command typed, with or without its slash. */
  spell(command: string): string {
    return `/${command}`;
  }

  /** The console is Slipway's own page: up while Slipway is. */
  health(): AdapterHealth {
    return { status: 'up', since: this.since };
  }

  private responder(user: string, clicked: PostedMessage | null): Responder {
    const add = (reply: Reply, visibleTo: string | null) =>
      this.posted(this.store({ id: this.nextId++, author: user, reply, visibleTo }));
    return {
      privately: async (reply) => add(reply, user),
      post: async (reply) => add(reply, null),
      ...(clicked
        ? {
            replace: async (reply: Reply) => {
              const target = this.history.get(Number(clicked.messageId));
              if (!target) return add(reply, null);
              return this.posted(this.store({ ...target, reply }));
            },
          }
        : {}),
    };
  }

  private posted(message: ConsoleMessage): PostedMessage {
    return { platform: 'web', channel: CHANNEL, messageId: String(message.id) };
  }

  private store(message: ConsoleMessage): ConsoleMessage {
    this.history.set(message.id, message);
    if (this.history.size > HISTORY) this.history.delete(Math.min(...this.history.keys()));
    const data = eventOf(message);
    for (const client of this.clients) if (visible(message, client.user)) client.raw.write(data);
    return message;
  }
}

const visible = (message: ConsoleMessage, user: string) => !message.visibleTo || message.visibleTo === user;

const eventOf = (message: ConsoleMessage) =>
  `data: ${JSON.stringify({ id: message.id, author: message.author, echo: !!message.echo, reply: message.reply })}\n\n`;

const chatUser = (user: string): ChatUser => ({
  platform: 'web',
  workspace: 'local',
  userId: user,
  displayName: user,
});
