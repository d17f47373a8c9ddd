import {
  type APIApplicationCommandAutocompleteInteraction,
  type APIChatInputApplicationCommandInteraction,
  type APIInteraction,
  type APIInteractionResponse,
  type APIMessageComponentInteraction,
  ApplicationCommandType,
  ComponentType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
} from 'discord-api-types/v10';
import {
  type ChatHost,
  type ChatUser,
  errorReply,
  type Invocation,
  type PostedMessage,
  type Reply,
} from '../../src/chat/index.js';
import { WorkLimiter } from '../../src/chat/router.js';
import type { Logger } from '../../src/logger.js';
import { type CommandShape, focusedOption, type OptionSpec, optionsToText, UMBRELLA } from './commands.js';
import { decodeCustomId } from './custom-id.js';
import type { KnownNames } from './mention.js';
import { type InteractionLink, InteractionResponder } from './responder.js';
import { describeDiscordError } from './rest.js';

/** How long one interaction id is remembered: an interaction token's lifetime. */
const REPLAY_TTL_SECONDS = 15 * 60;
/** Help waits this long for its answer to go into the HTTP response itself; then it is deferred. */
const INLINE_MS = 1_500;
/** Autocomplete must be answered in the HTTP response: after this, no suggestions. */
const SUGGEST_MS = 2_000;
/** Interactions whose work runs at once; the rest wait their turn (their answers are sent already). */
const WORK_AT_ONCE = 64;

/** What the interaction endpoint answers, and the work that follows once the answer is sent. */
export interface Answer {
  body: APIInteractionResponse;
  after?: () => Promise<void>;
}

/** Every command is registered on Discord as its own application command. */
export const spellCommand = (command: string) => `/${command}`;

/**
 * Verified interactions → answers. Cheap ones go into the HTTP response itself (PONG, mistakes
 * the grammar sees, help, the confirmation prompt, autocomplete choices); work gets a deferral
 * at once (type 5 for commands, 6 for clicks) and runs after the response is sent, through the
 * same command core as every platform, once per interaction id.
 */
export class InteractionAnswers {
  private readonly limiter = new WorkLimiter(WORK_AT_ONCE);

  constructor(
    private readonly deps: {
      link: InteractionLink;
      names: KnownNames;
      logger: Logger;
      now: () => number;
      shapes: () => ReadonlyMap<string, CommandShape>;
      commandNames: () => ReadonlySet<string>;
    },
  ) {}

  /** What to answer in the HTTP response, and the work to do once it is sent; null: not an interaction we know. */
  async answer(interaction: APIInteraction, host: ChatHost): Promise<Answer | null> {
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
    const receivedAt = this.deps.now();
    const user = this.userOf(interaction);
    if (!user)
      return this.inlinePrivate("Slipway's commands work in a server's channels, not in direct messages.");
    this.deps.names.learn(interaction.data.resolved?.users);
    const name = interaction.data.name;
    const shape = name === UMBRELLA ? null : this.deps.shapes().get(name);
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
        const responder = new InteractionResponder(this.deps.link, token, {
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
    const responder = new InteractionResponder(this.deps.link, token, { kind: 'deferred', ephemeral: false });
    return {
      body: { type: InteractionResponseType.DeferredChannelMessageWithSource },
      after: () => this.work(host, interaction.id, responder, () => host.run(parsed, invocation, responder)),
    };
  }

  private component(interaction: APIMessageComponentInteraction, host: ChatHost): Answer {
    const receivedAt = this.deps.now();
    const user = this.userOf(interaction);
    if (!user) return this.inlinePrivate("Slipway's buttons work in a server's channels.");
    const intent =
      interaction.data.component_type === ComponentType.Button
        ? decodeCustomId(interaction.data.custom_id)
        : null;
    if (!intent || !this.deps.commandNames().has(intent.actionId)) {
      return this.inlinePrivate("That is not one of Slipway's buttons, or it no longer works.");
    }
    const typed = `${spellCommand(intent.actionId)} ${intent.value}`.trim();
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
      this.deps.link,
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
          data: { ...this.deps.link.render({ text: `Confirmed: ${typed}`, status: 'info' }), components: [] },
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
      this.deps.logger.warn({ err: error }, 'discord autocomplete failed');
      return none;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the interaction's work once: a replayed interaction id does nothing. */
  private work(
    host: ChatHost,
    interactionId: string,
    responder: InteractionResponder,
    run: () => Promise<unknown>,
  ): Promise<void> {
    // A few dozen interactions' work at a time (each a handful of queries and one call to Discord):
    // under a burst the event loop then holds those callbacks, not thousands, and the next
    // interactions are still answered at once.
    return this.limiter.run(() => this.workNow(host, interactionId, responder, run));
  }

  private async workNow(
    host: ChatHost,
    interactionId: string,
    responder: InteractionResponder,
    run: () => Promise<unknown>,
  ): Promise<void> {
    try {
      if (!(await host.firstTime(`discord:${interactionId}`, REPLAY_TTL_SECONDS))) {
        this.deps.logger.warn({ interaction: interactionId }, 'replayed Discord interaction: nothing runs');
        return;
      }
    } catch (error) {
      this.deps.logger.error(
        { err: error, interaction: interactionId },
        'could not record a Discord interaction',
      );
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
    this.deps.logger.warn(
      { err: error, interaction: interactionId, cause: describeDiscordError(error) },
      'could not answer a Discord interaction',
    );
  }

  private optionSpec(command: string, sub: string | undefined, option: string): OptionSpec | undefined {
    const shape = this.deps.shapes().get(command);
    const options = shape?.subcommands ? shape.subcommands.get(sub ?? '')?.options : shape?.options;
    return options?.find((spec) => spec.name === option);
  }

  /** A private answer inside the interaction response itself. */
  private inline(reply: Reply): Answer {
    return {
      body: {
        type: InteractionResponseType.ChannelMessageWithSource,
        data: {
          ...this.deps.link.render(reply),
          ...(reply.ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
        },
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
    this.deps.names.learn({ [user.id]: { username: user.username, global_name: displayName } });
    return { platform: 'discord', workspace: interaction.guild_id, userId: user.id, displayName };
  }
}
