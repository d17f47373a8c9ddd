import { randomUUID } from 'node:crypto';
import { App, type BlockAction, type ButtonAction, LogLevel, type RespondFn, webApi } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';
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
import { replyToBlocks } from './blocks.js';
import { slackManifest } from './manifest.js';
import { readSlackMention } from './mention.js';
import { FastifyReceiver } from './receiver.js';
import { ResponseUrlMessages } from './response-url-messages.js';

export interface SlackSettings {
  botToken: string;
  signingSecret?: string | undefined;
  appToken?: string | undefined;
  /** Web API base, e.g. https://slack.com/api/ (GovSlack, a proxy, tests). */
  apiUrl?: string | undefined;
  /** Time allowed for one Web API call. */
  timeoutMs?: number | undefined;
}

/** Slack's slash commands for the command files: their own for `slash` ones, and the umbrella. */
export function slashCommandNames(commands: readonly Command[]): string[] {
  return [...commands.filter((command) => command.slash).map((command) => command.name), 'slipway'];
}

/** Web API errors that mean the token itself is wrong: retrying will not help until someone fixes it. */
const BAD_TOKEN = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
]);
/** The bot cannot post where it was asked (a private channel, a DM it was not added to). */
const NOT_THERE = new Set(['not_in_channel', 'channel_not_found', 'is_archived']);
/** How often the bot identity is checked again while it is down: from a few seconds up to this. */
const RECHECK_MAX_MS = 5 * 60_000;

/**
 * Slack through Bolt 5: the slash commands the command files ask for (`/deploy`, `/promote`)
 * and the umbrella `/slipway`, and the buttons on Slipway's messages. Over HTTP at
 * `/slack/events` on Slipway's server, or over Socket Mode when an app token is set.
 *
 * Slack may fail; Slipway may not: every request is acked at once (bad input and help in the
 * ack itself, privately), the bot identity is checked off the request path and retried, a bad
 * token or an unreachable API shows in `health()` (and /readyz) while everything else runs,
 * and Web API calls are bounded in time and retries.
 */
export class SlackChatAdapter implements ChatAdapter {
  readonly platform = 'slack' as const;
  readonly mode: 'http' | 'socket';
  private readonly logger: Logger;
  private app: App | undefined;
  /** Slipway's own Web API client, with the bot token: what posts, updates and checks the identity. */
  private web: webApi.WebClient | undefined;
  private slash = new Set<string>();
  private standing: AdapterHealth = { status: 'starting', since: new Date() };
  private recheck: NodeJS.Timeout | undefined;
  /** Who the bot is, once auth.test said so. */
  private botIdentity: { botId?: string; botUserId?: string } = {};
  private stopped = false;
  /** Cards shown through response_url where the bot could not post: updated the same way. */
  private readonly viaResponseUrl = new ResponseUrlMessages();

  constructor(
    private readonly settings: SlackSettings,
    logger: Logger,
  ) {
    this.logger = logger.child({ component: 'slack' });
    this.mode = settings.appToken ? 'socket' : 'http';
    if (this.mode === 'http' && !settings.signingSecret) {
      throw new Error('SLACK_SIGNING_SECRET is required for Slack over HTTP');
    }
  }

  /** The Bolt app (after mount). */
  get bolt(): App {
    if (!this.app) throw new Error('the Slack adapter is not mounted');
    return this.app;
  }

  private get client(): webApi.WebClient {
    if (!this.web) throw new Error('the Slack adapter is not mounted');
    return this.web;
  }

  mount(http: FastifyInstance, host: ChatHost): void {
    const { settings } = this;
    const clientOptions = {
      ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
      // The client's default retries for about 30 minutes: a message that late helps nobody, and
      // it holds a worker slot all that time. A few quick tries, then the failure is logged.
      retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2000 },
      timeout: settings.timeoutMs ?? 10_000,
    };
    // The token is checked by `checkIdentity`, off the request path. Given a token, Bolt checks
    // it itself (auth.test) in its constructor or before every request's listener — where a
    // revoked token crashed the process and an unreachable API held every ack for seconds — so
    // Bolt gets the token through `authorize`, which answers at once.
    this.web = new webApi.WebClient(settings.botToken, clientOptions);
    const common = {
      authorize: async () => ({ botToken: settings.botToken, ...this.botIdentity }),
      convoStore: false as const,
      clientOptions,
      logLevel: LogLevel.ERROR,
    };
    let app: App;
    // Socket Mode delivers each envelope once over one socket; over HTTP the receiver's ledger says.
    let firstTime: (body: object) => Promise<boolean> = async () => true;
    if (this.mode === 'socket') {
      app = new App({ ...common, appToken: settings.appToken, socketMode: true });
    } else {
      const receiver = new FastifyReceiver({
        signingSecret: settings.signingSecret ?? '',
        logger: this.logger,
        firstTime: (key, ttl) => host.firstTime(key, ttl),
      });
      // No conversation store: Slipway keeps no per-conversation state in Bolt, and the store's
      // middleware costs time on every request.
      app = new App({ ...common, receiver });
      receiver.register(http);
      firstTime = (body) => receiver.firstTimeFor(body);
    }
    this.app = app;

    this.slash = new Set(slashCommandNames(host.commands));
    const slash = new RegExp(`^/(${[...this.slash].join('|')})$`);
    app.command(slash, async ({ command, body, ack, respond }) => {
      const invocation = {
        user: {
          platform: 'slack',
          workspace: command.team_id,
          userId: command.user_id,
          displayName: command.user_name,
        } satisfies ChatUser,
        conversation: { channel: command.channel_id },
        command: command.command.replace(/^\//, ''),
        text: command.text ?? '',
      };
      const parsed = host.parse(invocation);
      if (!parsed.ok) {
        await ack({ response_type: 'ephemeral', ...replyToBlocks(parsed.result.reply) });
        return;
      }
      if (parsed.parsed.command.instant) {
        const { reply } = await host.answer(parsed.parsed, invocation);
        await ack({ response_type: reply.ephemeral ? 'ephemeral' : 'in_channel', ...replyToBlocks(reply) });
        return;
      }
      await ack();
      // A replayed or retried request stops here, after its ack and before any work.
      if (!(await firstTime(body))) return;
      await host.run(parsed.parsed, invocation, this.responder(invocation.conversation, respond, null));
    });

    const commandNames = new Set(host.commands.map((command) => command.name));
    app.action<BlockAction<ButtonAction>>(
      { type: 'block_actions', action_id: /^[a-z][a-z-]*$/ },
      async ({ ack, body, action, respond }) => {
        await ack();
        if (!commandNames.has(action.action_id) || !(await firstTime(body))) return;
        const channel = body.container?.channel_id ?? body.channel?.id ?? '';
        const messageTs = body.container?.message_ts ?? body.message?.ts;
        const message: PostedMessage | null =
          channel && messageTs ? { platform: 'slack', channel, messageId: String(messageTs) } : null;
        await host.click(
          {
            user: {
              platform: 'slack',
              workspace: body.team?.id ?? body.user.team_id ?? '',
              userId: body.user.id,
              displayName: body.user.name ?? body.user.username ?? body.user.id,
            },
            conversation: { channel },
            actionId: action.action_id,
            value: action.value ?? '',
            message,
          },
          this.responder({ channel }, respond, message),
        );
      },
    );

    app.error(async (error) => {
      this.logger.error({ err: error }, 'slack handler error');
    });
  }

  async start(): Promise<void> {
    void this.checkIdentity(2000);
    if (this.mode === 'socket') {
      // A socket that cannot open must not stop Slipway from starting: it is retried below.
      await this.bolt.start().catch((error: unknown) => {
        this.setStanding('down', `Socket Mode could not connect: ${describe(error)}`);
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.recheck);
    if (this.mode === 'socket' && this.app) await this.app.stop().catch(() => undefined);
  }

  render(reply: Reply) {
    return replyToBlocks(reply);
  }

  async post(conversation: Conversation, reply: Reply): Promise<PostedMessage | null> {
    const posted = await this.client.chat.postMessage({
      channel: conversation.channel,
      ...(conversation.thread ? { thread_ts: conversation.thread } : {}),
      ...replyToBlocks(reply),
    });
    return posted.ts ? { platform: 'slack', channel: conversation.channel, messageId: posted.ts } : null;
  }

  async update(message: PostedMessage, reply: Reply): Promise<void> {
    if (message.volatile) {
      const detour: Detour = message.messageId.startsWith('not_in_channel:')
        ? 'not_in_channel'
        : 'api_failed';
      await this.viaResponseUrl.update(
        message.messageId,
        replyToBlocks(withHint(reply, detour)),
        reply.status,
      );
      return;
    }
    await this.client.chat.update({
      channel: message.channel,
      ts: message.messageId,
      ...replyToBlocks(reply),
    });
  }

  mention(invoker: ChatUser, token: string): ChatUser | null {
    return readSlackMention(invoker, token);
  }

  registration(commands: readonly Command[], publicUrl: string) {
    return slackManifest(commands, publicUrl, { socketMode: this.mode === 'socket' });
  }

  /** Slack has the slash commands the manifest registers; every other command goes through /slipway. */
  spell(command: string): string {
    return this.slash.has(command) ? `/${command}` : `/slipway ${command}`;
  }

  health(): AdapterHealth {
    return this.standing;
  }

  /** auth.test, at start and again while it fails (longer and longer waits), off the request path. */
  private async checkIdentity(waitMs: number): Promise<void> {
    if (this.stopped) return;
    try {
      const identity = await this.client.auth.test();
      this.botIdentity = {
        ...(identity.bot_id ? { botId: identity.bot_id } : {}),
        ...(identity.user_id ? { botUserId: identity.user_id } : {}),
      };
      this.setStanding('up', undefined);
      this.logger.info(
        { mode: this.mode, team: identity.team_id, bot: identity.user_id },
        'Slack adapter ready',
      );
    } catch (error) {
      const code = errorCode(error);
      const detail = BAD_TOKEN.has(code ?? '')
        ? `the bot token was refused (${code}): set a valid SLACK_BOT_TOKEN`
        : `the Web API could not be reached: ${describe(error)}`;
      this.setStanding('down', detail);
      this.recheck = setTimeout(() => void this.checkIdentity(Math.min(waitMs * 2, RECHECK_MAX_MS)), waitMs);
      this.recheck.unref();
    }
  }

  private setStanding(status: AdapterHealth['status'], detail: string | undefined): void {
    if (this.standing.status !== status || this.standing.detail !== detail) {
      this.standing = { status, since: new Date(), ...(detail ? { detail } : {}) };
      if (status === 'down')
        this.logger.error({ detail }, 'Slack adapter down; the rest of Slipway keeps running');
    }
  }

  /**
   * Private answers go through the request's response_url. When the bot cannot post where it was
   * asked, the answer goes there too, saying how to invite the bot, and the progress keeps
   * updating that message (within what Slack allows a response_url).
   */
  private responder(
    conversation: Conversation,
    respond: RespondFn,
    clicked: PostedMessage | null,
  ): Responder {
    return {
      privately: async (reply) => {
        await respond({ response_type: 'ephemeral', replace_original: false, ...replyToBlocks(reply) });
        return null;
      },
      post: async (reply) => {
        try {
          return await this.post(conversation, reply);
        } catch (error) {
          const code = errorCode(error);
          this.logger.warn(
            { err: error, code, channel: conversation.channel },
            'chat.postMessage failed; answering through response_url',
          );
          const detour: Detour = NOT_THERE.has(code ?? '') ? 'not_in_channel' : 'api_failed';
          const id = `${detour}:${randomUUID()}`;
          await this.viaResponseUrl.first(id, respond, replyToBlocks(withHint(reply, detour)), reply.status);
          return { platform: 'slack', channel: conversation.channel, messageId: id, volatile: true };
        }
      },
      ...(clicked
        ? {
            replace: async (reply: Reply) => {
              try {
                await this.update(clicked, reply);
              } catch (error) {
                // The card came through a response_url (the bot is not in the channel): the
                // click's own response_url can replace it.
                this.logger.warn(
                  { err: error, code: errorCode(error) },
                  'chat.update failed; using response_url',
                );
                await respond({ replace_original: true, ...replyToBlocks(reply) });
              }
              return clicked;
            },
          }
        : {}),
    };
  }
}

/** Why a card came through the response URL, said on it so people know what to do. */
type Detour = 'not_in_channel' | 'api_failed';

function withHint(reply: Reply, detour: Detour): Reply {
  const hint =
    detour === 'not_in_channel'
      ? 'Slipway is not in this channel, so this message is kept up to date through Slack’s response URL for 30 minutes. Type /invite @Slipway here to get every update.'
      : 'Slack could not take this message from the bot, so it came through the response URL and is kept up to date that way for 30 minutes.';
  return { ...reply, footer: reply.footer ? `${reply.footer} · ${hint}` : hint };
}

function errorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: string } }).data;
  return data?.error ?? (error as { code?: string }).code;
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = (error as Error)?.message ?? String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
