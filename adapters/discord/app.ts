import type { KeyObject } from 'node:crypto';
import type { API } from '@discordjs/core/http-only';
import type { REST } from '@discordjs/rest';
import type { APIInteraction } from 'discord-api-types/v10';
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
} from '../../src/chat/index.js';
import type { Logger } from '../../src/logger.js';
import { type CommandShape, commandShapes, discordCommands } from './commands.js';
import { type DiscordMessage, replyToDiscordMessage } from './embed.js';
import { InteractionTokens } from './interaction-tokens.js';
import { InteractionAnswers, spellCommand } from './interactions.js';
import { KnownNames, readDiscordMention } from './mention.js';
import type { InteractionLink } from './responder.js';
import { describeDiscordError, discordApi, isTokenRefused } from './rest.js';
import { discordPublicKey, verifyDiscordSignature } from './signature.js';
import { DiscordStanding } from './standing.js';

export interface DiscordSettings {
  applicationId: string;
  /** The application's public key, hex: every interaction is verified with it. */
  publicKey: string;
  /** Optional: edits past an interaction token's 15 minutes, from any replica, and posts to channels. */
  botToken?: string | undefined;
  /** REST base, e.g. https://discord.com/api/v10 (a proxy, tests). */
  apiUrl?: string | undefined;
}

export const DISCORD_INTERACTIONS_PATH = '/discord/interactions';

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * Discord over its HTTP interactions endpoint (no gateway): slash commands generated from the
 * command files (plus `/slipway text:…`), buttons, and option autocomplete. Every request is
 * verified (Ed25519, 5-minute window) before it is parsed and answered at once — cheap answers
 * (help, mistakes, refusals the grammar sees) inside the response, work with a deferral (type 5,
 * or 6 for clicks) — then the work runs and its replies edit the interaction's messages through
 * discord.js's REST client. Messages showing a deployment are kept current through the
 * interaction token while it lives and through the bot (`channels/{id}/messages/{id}`) after.
 */
export class DiscordChatAdapter implements ChatAdapter {
  readonly platform = 'discord' as const;
  private readonly logger: Logger;
  private readonly key: KeyObject;
  private readonly rest: REST;
  private readonly webhooks: REST;
  /** Bot-token calls: channel messages, the application. */
  private readonly api: API;
  /** Interaction-webhook calls: responses and follow-ups (no token, no global limit). */
  private readonly interactions: API['interactions'];
  private readonly tokens: InteractionTokens;
  /** Names Discord showed for user ids in recent interactions (mentions name people by them). */
  private readonly names = new KnownNames();
  private shapes = new Map<string, CommandShape>();
  private commandNames = new Set<string>();
  private readonly standing: DiscordStanding;
  private readonly link: InteractionLink;
  private readonly answers: InteractionAnswers;

  constructor(
    private readonly settings: DiscordSettings,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = logger.child({ component: 'discord' });
    this.key = discordPublicKey(settings.publicKey);
    const { rest, api, webhooks, interactions } = discordApi({
      apiUrl: settings.apiUrl,
      botToken: settings.botToken,
      logger: this.logger,
    });
    this.rest = rest;
    this.api = api;
    this.webhooks = webhooks;
    this.interactions = interactions;
    this.tokens = new InteractionTokens(now);
    this.link = {
      applicationId: settings.applicationId,
      interactions,
      volatile: !settings.botToken,
      render: (reply) => this.render(reply),
      remember: (messageId, token, target, receivedAt) =>
        this.tokens.remember(messageId, token, target, receivedAt),
      call: (work) => this.standing.call(work),
    };
    this.standing = new DiscordStanding({
      applicationId: settings.applicationId,
      botToken: settings.botToken,
      rest,
      api,
      logger: this.logger,
    });
    this.answers = new InteractionAnswers({
      link: this.link,
      names: this.names,
      logger: this.logger,
      now,
      shapes: () => this.shapes,
      commandNames: () => this.commandNames,
    });
  }

  mount(http: FastifyInstance, host: ChatHost): void {
    this.shapes = commandShapes(host.commands);
    this.commandNames = new Set(host.commands.map((command) => command.name));
    void http.register(async (scope) => {
      // The signature covers the raw bytes: nothing may parse the body before it is checked.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) =>
        done(null, body),
      );
      scope.post(DISCORD_INTERACTIONS_PATH, async (request, reply) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const check = verifyDiscordSignature(
          this.key,
          {
            signature: header(request.headers['x-signature-ed25519']),
            timestamp: header(request.headers['x-signature-timestamp']),
          },
          raw,
        );
        if (!check.ok) {
          this.logger.warn({ reason: check.reason, ip: request.ip }, 'discord request refused');
          return reply.code(401).send({ error: 'invalid_signature', message: 'Invalid request signature.' });
        }
        let interaction: APIInteraction;
        try {
          interaction = JSON.parse(raw.toString('utf8')) as APIInteraction;
        } catch {
          return reply.code(400).send({ error: 'bad_request', message: 'Unreadable interaction.' });
        }
        if (typeof interaction !== 'object' || interaction === null || typeof interaction.type !== 'number') {
          return reply.code(400).send({ error: 'bad_request', message: 'Not an interaction.' });
        }
        const answer = await this.answers.answer(interaction, host);
        if (!answer)
          return reply.code(400).send({ error: 'bad_request', message: 'Unknown interaction type.' });
        const work = answer.after;
        if (work) {
          // The work's first call edits the response Discord is reading now: start once it is sent.
          let started = false;
          const start = () => {
            if (started) return;
            started = true;
            work().catch((error: unknown) =>
              this.logger.error({ err: error }, 'discord interaction work failed'),
            );
          };
          reply.raw.once('finish', start);
          reply.raw.once('close', start);
        }
        return reply.code(200).header('content-type', 'application/json').send(JSON.stringify(answer.body));
      });
    });
  }

  async start(): Promise<void> {
    // Off the request path and never awaited: a Discord that is down or a bad token is shown in
    // the adapter's health and logged, never a reason to fail the start or delay an ack.
    this.standing.check();
    this.logger.info({ endpoint: DISCORD_INTERACTIONS_PATH }, 'Discord adapter ready');
  }

  async stop(): Promise<void> {
    this.standing.stop();
    for (const rest of [this.rest, this.webhooks]) {
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    }
  }

  render(reply: Reply): DiscordMessage {
    return replyToDiscordMessage(reply);
  }

  async post(conversation: Conversation, reply: Reply): Promise<PostedMessage | null> {
    if (!this.settings.botToken) throw new Error('posting to a Discord channel needs DISCORD_BOT_TOKEN');
    const message = await this.standing.call(() =>
      this.api.channels.createMessage(conversation.channel, this.render(reply)),
    );
    return { platform: 'discord', channel: message.channel_id, messageId: message.id };
  }

  /**
   * Edits a message in place: through the freshest interaction token this process holds for it,
   * and through the bot once there is none (it expired, Discord refused it, or another replica
   * or an earlier process made the message).
   */
  async update(message: PostedMessage, reply: Reply): Promise<void> {
    const body = this.render(reply);
    const held = this.tokens.live(message.messageId);
    if (held) {
      try {
        await this.standing.call(() =>
          this.interactions.editReply(this.settings.applicationId, held.token, body, held.target),
        );
        return;
      } catch (error) {
        if (!isTokenRefused(error)) throw error;
        this.tokens.forget(message.messageId, held.token);
        this.logger.info(
          { messageId: message.messageId, cause: describeDiscordError(error) },
          'interaction token refused; editing through the bot from now on',
        );
      }
    }
    if (!this.settings.botToken) {
      throw new Error(
        'the interaction token expired and no DISCORD_BOT_TOKEN is set: the message cannot be edited',
      );
    }
    await this.standing.call(() => this.api.channels.editMessage(message.channel, message.messageId, body));
  }

  mention(invoker: ChatUser, token: string): ChatUser | null {
    return readDiscordMention(invoker, token, (id) => this.names.of(id));
  }

  /** Every command is registered as its own application command. */
  spell(command: string): string {
    return spellCommand(command);
  }

  health(): AdapterHealth {
    return this.standing.health();
  }

  registration(commands: readonly Command[], _publicUrl: string) {
    return discordCommands(commands);
  }
}
