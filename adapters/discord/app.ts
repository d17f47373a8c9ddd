import type { KeyObject } from 'node:crypto';
import type { API } from '@discordjs/core/http-only';
import { DiscordAPIError, HTTPError, type REST } from '@discordjs/rest';
import {
  type APIApplicationCommandAutocompleteInteraction,
  type APIChatInputApplicationCommandInteraction,
  type APIInteraction,
  type APIInteractionResponse,
  type APIMessageComponentInteraction,
  type APIUser,
  ApplicationCommandType,
  ComponentType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
} from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import {
  type AdapterHealth,
  type ChatAdapter,
  type ChatHost,
  type ChatUser,
  type Command,
  type Conversation,
  errorReply,
  type Invocation,
  type PostedMessage,
  type Reply,
} from '../../src/chat/index.js';
import type { Logger } from '../../src/logger.js';
import {
  type CommandShape,
  commandShapes,
  discordCommands,
  focusedOption,
  type OptionSpec,
  optionsToText,
  UMBRELLA,
} from './commands.js';
import { decodeCustomId } from './custom-id.js';
import { type DiscordMessage, replyToDiscordMessage } from './embed.js';
import { InteractionTokens } from './interaction-tokens.js';
import { readDiscordMention } from './mention.js';
import { type InteractionLink, InteractionResponder } from './responder.js';
import { describeDiscordError, discordApi, isTokenRefused } from './rest.js';
import { discordPublicKey, verifyDiscordSignature } from './signature.js';

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
/** How long one interaction id is remembered: an interaction token's lifetime. */
const REPLAY_TTL_SECONDS = 15 * 60;
/** Help waits this long for its answer to go into the HTTP response itself; then it is deferred. */
const INLINE_MS = 1_500;
/** Autocomplete must be answered in the HTTP response: after this, no suggestions. */
const SUGGEST_MS = 2_000;
const IDENTITY_RETRY_MAX_MS = 5 * 60_000;

/** What the interaction endpoint answers, and the work that follows once the answer is sent. */
interface Answer {
  body: APIInteractionResponse;
  after?: () => Promise<void>;
}

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
  private readonly names = new Map<string, string>();
  private shapes = new Map<string, CommandShape>();
  private commandNames = new Set<string>();
  private identity: AdapterHealth = { status: 'starting', since: new Date() };
  private unreachable: { detail: string; since: Date } | null = null;
  private identityTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly link: InteractionLink;

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
      call: (work) => this.call(work),
    };
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
        const answer = await this.answer(interaction, host);
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
    this.checkIdentity(0);
    this.logger.info({ endpoint: DISCORD_INTERACTIONS_PATH }, 'Discord adapter ready');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.identityTimer);
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
    const message = await this.call(() =>
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
        await this.call(() =>
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
    await this.call(() => this.api.channels.editMessage(message.channel, message.messageId, body));
  }

  mention(invoker: ChatUser, token: string): ChatUser | null {
    return readDiscordMention(invoker, token, (id) => this.names.get(id));
  }

  /** Every command is registered as its own application command. */
  spell(command: string): string {
    return `/${command}`;
  }

  health(): AdapterHealth {
    return this.unreachable
      ? { status: 'down', detail: this.unreachable.detail, since: this.unreachable.since }
      : this.identity;
  }

  registration(commands: readonly Command[], _publicUrl: string) {
    return discordCommands(commands);
  }

  // ── receiving ────────────────────────────────────────────────────────────────────────────

  private async answer(interaction: APIInteraction, host: ChatHost): Promise<Answer | null> {
    switch (interaction.type) {
      case InteractionType.Ping:
        return { body: { type: InteractionResponseType.Pong } };
      case InteractionType.ApplicationCommand:
        if (interaction.data.type !== ApplicationCommandType.ChatInput) {
          return this.inlinePrivate('Slipway has only slash commands.');
        }
        return this.command(interaction as APIChatInputApplicationCommandInteraction, host);
      case InteractionType.MessageComponent:
        return this.component(interaction, host);
      case InteractionType.ApplicationCommandAutocomplete:
        return this.autocomplete(interaction, host);
      case InteractionType.ModalSubmit:
        return this.inlinePrivate('Slipway has no forms.');
      default:
        return null;
    }
  }

  private async command(
    interaction: APIChatInputApplicationCommandInteraction,
    host: ChatHost,
  ): Promise<Answer> {
    const receivedAt = this.now();
    const user = this.userOf(interaction);
    if (!user)
      return this.inlinePrivate("Slipway's commands work in a server's channels, not in direct messages.");
    this.learnNames(interaction.data.resolved?.users);
    const name = interaction.data.name;
    const shape = name === UMBRELLA ? null : this.shapes.get(name);
    if (name !== UMBRELLA && !shape) {
      return this.inlinePrivate(
        `Slipway has no /${name.slice(0, 40)} command any more; an admin should run \`slipway discord-commands\`.`,
      );
    }
    const text = optionsToText(shape ?? null, interaction.data.options);
    if (!text.ok) return this.inlinePrivate(text.message);
    const invocation: Invocation = {
      user,
      conversation: { channel: interaction.channel?.id ?? interaction.channel_id ?? '' },
      command: shape ? name : null,
      text: text.text,
    };
    const outcome = host.parse(invocation);
    if (!outcome.ok) return this.inline(outcome.result.reply);
    const parsed = outcome.parsed;
    const token = { token: interaction.token, receivedAt };
    if (parsed.command.name === 'help') {
      // Help needs no work: its answer goes into the response, unless the database is slow.
      return new Promise<Answer>((resolve) => {
        const responder = new InteractionResponder(this.link, token, {
          kind: 'pending',
          answer: (body) => resolve({ body }),
        });
        const timer = setTimeout(() => responder.deferNow(true), INLINE_MS);
        void this.work(host, interaction.id, responder, () =>
          host.run(parsed, invocation, responder),
        ).finally(() => {
          clearTimeout(timer);
          responder.settle({ text: 'This request was answered already.', status: 'info' });
        });
      });
    }
    const responder = new InteractionResponder(this.link, token, { kind: 'deferred', ephemeral: false });
    return {
      body: { type: InteractionResponseType.DeferredChannelMessageWithSource },
      after: () => this.work(host, interaction.id, responder, () => host.run(parsed, invocation, responder)),
    };
  }

  private component(interaction: APIMessageComponentInteraction, host: ChatHost): Answer {
    const receivedAt = this.now();
    const user = this.userOf(interaction);
    if (!user) return this.inlinePrivate("Slipway's buttons work in a server's channels.");
    const intent =
      interaction.data.component_type === ComponentType.Button
        ? decodeCustomId(interaction.data.custom_id)
        : null;
    if (!intent || !this.commandNames.has(intent.actionId)) {
      return this.inlinePrivate("That is not one of Slipway's buttons, or it no longer works.");
    }
    const typed = `${this.spell(intent.actionId)} ${intent.value}`.trim();
    if (intent.confirm) {
      // Discord has no confirmation dialog: ask privately, with a button that runs it.
      return this.inline({
        text: `Are you sure? This runs ${typed}.`,
        status: 'warning',
        ephemeral: true,
        buttons: [
          { label: 'Yes, go ahead', actionId: intent.actionId, value: intent.value, style: 'danger' },
        ],
      });
    }
    const outcome = host.parse({ command: intent.actionId, text: intent.value });
    if (!outcome.ok) return this.inline(outcome.result.reply);
    const channel = interaction.channel?.id ?? interaction.channel_id ?? interaction.message.channel_id;
    // A click on a private prompt (the confirmation above): the prompt says it was confirmed and
    // loses its button, so it cannot run twice; the result comes as a new message.
    const onPrivate = ((interaction.message.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
    const clicked: PostedMessage | null = onPrivate
      ? null
      : { platform: 'discord', channel, messageId: interaction.message.id };
    const responder = new InteractionResponder(
      this.link,
      { token: interaction.token, receivedAt },
      { kind: 'update' },
      clicked,
    );
    const action = {
      user,
      conversation: { channel },
      actionId: intent.actionId,
      value: intent.value,
      message: clicked,
    };
    const body: APIInteractionResponse = onPrivate
      ? {
          type: InteractionResponseType.UpdateMessage,
          data: { ...this.render({ text: `Confirmed: ${typed}`, status: 'info' }), components: [] },
        }
      : { type: InteractionResponseType.DeferredMessageUpdate };
    return {
      body,
      after: () => this.work(host, interaction.id, responder, () => host.click(action, responder)),
    };
  }

  private async autocomplete(
    interaction: APIApplicationCommandAutocompleteInteraction,
    host: ChatHost,
  ): Promise<Answer> {
    const none: Answer = {
      body: { type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices: [] } },
    };
    const user = this.userOf(interaction);
    const focused = focusedOption(interaction.data.options);
    const spec = focused
      ? this.optionSpec(interaction.data.name, interaction.data.options?.[0]?.name, focused.name)
      : null;
    if (!user || !focused || !spec?.suggest) return none;
    let timer: NodeJS.Timeout | undefined;
    try {
      const names = await Promise.race([
        host.suggest(user, spec.suggest, focused.value, focused.others.get('project')),
        new Promise<string[]>((resolve) => {
          timer = setTimeout(() => resolve([]), SUGGEST_MS);
        }),
      ]);
      return {
        body: {
          type: InteractionResponseType.ApplicationCommandAutocompleteResult,
          data: { choices: names.slice(0, 25).map((name) => ({ name, value: name })) },
        },
      };
    } catch (error) {
      this.logger.warn({ err: error }, 'discord autocomplete failed');
      return none;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the interaction's work once: a replayed interaction id does nothing. */
  private async work(
    host: ChatHost,
    interactionId: string,
    responder: InteractionResponder,
    run: () => Promise<unknown>,
  ): Promise<void> {
    try {
      if (!(await host.firstTime(`discord:${interactionId}`, REPLAY_TTL_SECONDS))) {
        this.logger.warn({ interaction: interactionId }, 'replayed Discord interaction: nothing runs');
        return;
      }
    } catch (error) {
      this.logger.error({ err: error, interaction: interactionId }, 'could not record a Discord interaction');
      await responder
        .privately(
          errorReply(
            'Slipway could not record this request (its database did not answer), so nothing was done. Try again.',
          ),
        )
        .catch((failure: unknown) => this.failed(failure, interactionId));
      return;
    }
    try {
      await run();
    } catch (error) {
      this.failed(error, interactionId);
    }
  }

  private failed(error: unknown, interactionId: string): void {
    this.logger.warn(
      { err: error, interaction: interactionId, cause: describeDiscordError(error) },
      'could not answer a Discord interaction',
    );
  }

  private optionSpec(command: string, sub: string | undefined, option: string): OptionSpec | undefined {
    const shape = this.shapes.get(command);
    const options = shape?.subcommands ? shape.subcommands.get(sub ?? '')?.options : shape?.options;
    return options?.find((spec) => spec.name === option);
  }

  /** A private answer inside the interaction response itself. */
  private inline(reply: Reply): Answer {
    return {
      body: {
        type: InteractionResponseType.ChannelMessageWithSource,
        data: { ...this.render(reply), ...(reply.ephemeral ? { flags: MessageFlags.Ephemeral } : {}) },
      },
    };
  }

  private inlinePrivate(text: string): Answer {
    return this.inline(errorReply(text));
  }

  /** `discord:<guild id>:<user id>`; null outside a server (Slipway's roles belong to a workspace). */
  private userOf(interaction: APIInteraction): ChatUser | null {
    const user = interaction.member?.user ?? interaction.user;
    if (!interaction.guild_id || !user) return null;
    const displayName = interaction.member?.nick ?? user.global_name ?? user.username;
    this.learnNames({ [user.id]: { ...user, global_name: displayName } });
    return { platform: 'discord', workspace: interaction.guild_id, userId: user.id, displayName };
  }

  private learnNames(users: Record<string, APIUser> | undefined): void {
    for (const [id, user] of Object.entries(users ?? {})) {
      this.names.delete(id);
      this.names.set(id, user.global_name ?? user.username);
    }
    for (const id of this.names.keys()) {
      if (this.names.size <= 2_000) break;
      this.names.delete(id);
    }
  }

  // ── standing with Discord ────────────────────────────────────────────────────────────────

  /** An outbound call: a network failure marks Discord unreachable (with its cause) until a call gets through. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.unreachable = null;
      return result;
    } catch (error) {
      if (error instanceof DiscordAPIError || (error instanceof HTTPError && error.status < 500)) {
        this.unreachable = null;
      } else if (!this.unreachable) {
        this.unreachable = {
          detail: `Discord API unreachable: ${describeDiscordError(error)}`,
          since: new Date(),
        };
        this.logger.error({ cause: describeDiscordError(error) }, 'Discord API unreachable');
      }
      throw error;
    }
  }

  /** Who the bot token belongs to, retried with back-off until Discord answers. */
  private checkIdentity(attempt: number): void {
    const { botToken, applicationId } = this.settings;
    if (!botToken) {
      this.identity = {
        status: 'up',
        detail:
          'no DISCORD_BOT_TOKEN: messages are edited through interaction tokens only (15 minutes, in this process)',
        since: new Date(),
      };
      return;
    }
    void (async () => {
      try {
        // A 401 makes the REST client drop its token; each try starts with it again.
        this.rest.setToken(botToken);
        const application = await this.call(() => this.api.applications.getCurrent());
        if (application.id !== applicationId) {
          this.down(
            `the bot token belongs to application ${application.id}, not DISCORD_APPLICATION_ID ${applicationId}`,
            attempt,
          );
          return;
        }
        this.identity = { status: 'up', detail: `application ${application.name}`, since: new Date() };
        this.logger.info({ application: application.name }, 'Discord bot identity checked');
      } catch (error) {
        this.down(describeDiscordError(error), attempt);
      }
    })();
  }

  private down(detail: string, attempt: number): void {
    if (this.stopped) return;
    if (this.identity.status !== 'down' || this.identity.detail !== detail) {
      this.identity = { status: 'down', detail, since: new Date() };
    }
    const retryMs = Math.min(IDENTITY_RETRY_MAX_MS, 2_000 * 2 ** attempt);
    this.logger.warn({ cause: detail, retryMs }, 'Discord bot identity check failed; retrying');
    this.identityTimer = setTimeout(() => this.checkIdentity(attempt + 1), retryMs);
    this.identityTimer.unref();
  }
}
