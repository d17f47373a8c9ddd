import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  /** Who typed the command that produced it (their display name). */
  author: string | null;
  reply: Reply;
  /** Ephemeral messages are shown to this identity (`platform:workspace:user`) only. */
  visibleTo: string | null;
  /** The echo of what someone typed, not a reply of Slipway's. */
  echo?: boolean;
}

const signInBody = z.object({ token: z.string().min(1).max(200) });
const commandBody = z.object({ text: z.string().min(1).max(2000) });
const actionBody = z.object({
  actionId: z.string().max(100),
  value: z.string().max(100),
  messageId: z.number().int(),
});

export interface WebConsoleOptions {
  /** SLIPWAY_PUBLIC_URL: its origin is accepted on state-changing requests; https makes the cookie Secure. */
  publicUrl: string;
}

/**
 * The web console at /console: type the same commands, click the same buttons, see the same
 * replies, updated live over server-sent events. Everyone signed in shares one channel;
 * ephemeral replies go to their author only.
 *
 * Sign-in is per person: a one-time link (`slipway console-login`, `/slipway console` from chat)
 * carries its token in the URL's fragment; the page posts it once and gets a session — random,
 * stored hashed by the core, expiring, revoked on logout — in an HttpOnly, SameSite=Strict cookie
 * (Secure behind https). Whoever signed in is the chat identity every command runs as, on any
 * platform. Every state-changing request must come from the console's own origin.
 */
export class WebConsoleAdapter implements ChatAdapter {
  readonly platform = 'web' as const;
  private readonly logger: Logger;
  private readonly history = new Map<number, ConsoleMessage>();
  private readonly clients = new Set<{ user: string; raw: ServerResponse }>();
  private nextId = 1;
  private readonly since = new Date();
  private readonly secure: boolean;
  private readonly publicOrigin: string;

  constructor(options: WebConsoleOptions, logger: Logger) {
    this.logger = logger.child({ component: 'web-console' });
    const url = new URL(options.publicUrl);
    this.secure = url.protocol === 'https:';
    this.publicOrigin = url.origin;
  }

  /** Every message the console holds, oldest first (tests). */
  messages(): ConsoleMessage[] {
    return [...this.history.values()];
  }

  mount(http: FastifyInstance, host: ChatHost): void {
    const { logger } = this;
    const sessions = host.consoleSessions;
    const sessionToken = (request: FastifyRequest): string | undefined => {
      const cookie = (request.headers.cookie ?? '')
        .split(';')
        .map((part) => part.trim())
        .find((part) => part.startsWith(`${COOKIE}=`));
      return cookie ? decodeURIComponent(cookie.slice(COOKIE.length + 1)) : undefined;
    };
    const userOf = (request: FastifyRequest) => sessions.session(sessionToken(request));
    const cookie = (value: string, maxAgeSeconds: number) =>
      `${COOKIE}=${encodeURIComponent(value)}; Path=/console; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${this.secure ? '; Secure' : ''}`;
    /**
     * A state-changing request must come from the console's own page: its Origin is the public
     * URL's, or the origin the request was addressed to (a browser never lets a page forge it).
     */
    const sameOrigin = (request: FastifyRequest, reply: FastifyReply): boolean => {
      const origin = request.headers.origin;
      const addressed = `${request.protocol}://${request.headers.host ?? ''}`;
      if (origin && (origin === this.publicOrigin || origin === addressed)) return true;
      logger.warn({ ip: request.ip, origin: origin ?? null }, 'console request from another origin refused');
      void reply.code(403).send({ error: 'forbidden', message: 'Requests must come from the console page.' });
      return false;
    };
    const signedIn = async (request: FastifyRequest, reply: FastifyReply): Promise<ChatUser | null> => {
      const user = await userOf(request);
      if (!user) void reply.code(401).send({ error: 'unauthorized', message: 'Sign in with a link first.' });
      return user;
    };

    http.get('/console', async (_request, reply) => {
      reply
        .header(
          'content-security-policy',
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        )
        .header('x-frame-options', 'DENY')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8');
      return CONSOLE_HTML;
    });

    http.post('/console/sign-in', async (request, reply) => {
      if (!sameOrigin(request, reply)) return reply;
      const body = signInBody.safeParse(request.body);
      const started = body.success ? await sessions.redeem(body.data.token) : null;
      if (!started) {
        logger.warn({ ip: request.ip }, 'console sign-in refused');
        return reply.code(401).send({
          error: 'unauthorized',
          message: 'That sign-in link is not valid: it was used already, it expired, or it was never issued.',
        });
      }
      const seconds = Math.max(1, Math.floor((started.expiresAt.getTime() - Date.now()) / 1000));
      reply.header('set-cookie', cookie(started.token, seconds));
      return meOf(started.identity);
    });

    http.post('/console/logout', async (request, reply) => {
      if (!sameOrigin(request, reply)) return reply;
      await sessions.end(sessionToken(request));
      reply.header('set-cookie', cookie('', 0));
      return { signedOut: true };
    });

    http.get('/console/api/me', async (request, reply) => {
      const user = await signedIn(request, reply);
      return user ? meOf(user) : reply;
    });

    http.post('/console/api/command', async (request, reply) => {
      if (!sameOrigin(request, reply)) return reply;
      const user = await signedIn(request, reply);
      if (!user) return reply;
      const body = commandBody.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: 'bad_request', message: 'Type a command.' });
      const text = body.data.text.trim().replace(/^\//, '');
      const [first = '', ...rest] = text.split(/\s+/);
      this.store({
        id: this.nextId++,
        author: user.displayName,
        reply: { text: `/${text}` },
        visibleTo: null,
        echo: true,
      });
      const posted = await host.invoke(
        {
          user,
          conversation: { channel: CHANNEL },
          command: first === 'slipway' ? null : first,
          text: rest.join(' '),
        },
        this.responder(user, null),
      );
      return { id: Number(posted?.messageId) };
    });

    http.post('/console/api/action', async (request, reply) => {
      if (!sameOrigin(request, reply)) return reply;
      const user = await signedIn(request, reply);
      if (!user) return reply;
      const body = actionBody.safeParse(request.body);
      if (!body.success || !host.commands.some((command) => command.name === body.data.actionId)) {
        return reply.code(400).send({ error: 'bad_request', message: 'Unknown action.' });
      }
      const clicked = { platform: 'web', channel: CHANNEL, messageId: String(body.data.messageId) };
      const posted = await host.click(
        {
          user,
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
      const user = await signedIn(request, reply);
      if (!user) return reply;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      const client = { user: keyOf(user), raw };
      for (const message of this.history.values()) {
        if (visible(message, client.user)) raw.write(eventOf(message));
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

  /** On the console, people on web:local are named by their user id: `@ada` or `ada`. */
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

  private responder(user: ChatUser, clicked: PostedMessage | null): Responder {
    const add = (reply: Reply, visibleTo: string | null) =>
      this.posted(this.store({ id: this.nextId++, author: user.displayName, reply, visibleTo }));
    return {
      privately: async (reply) => add(reply, keyOf(user)),
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

/** A person's key: the chat identity, whatever platform it is on. */
const keyOf = (user: ChatUser) => `${user.platform}:${user.workspace}:${user.userId}`;

const meOf = (user: ChatUser) => ({ user: keyOf(user), name: user.displayName });
