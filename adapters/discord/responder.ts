import type { API } from '@discordjs/core/http-only';
import type { APIInteractionResponse, APIMessage } from 'discord-api-types/v10';
import { InteractionResponseType, MessageFlags } from 'discord-api-types/v10';
import type { PostedMessage, Reply, Responder } from '../../src/chat/index.js';
import type { DiscordMessage } from './embed.js';
import { isUnknownMessage } from './rest.js';

/** What a responder needs from its adapter. */
export interface InteractionLink {
  readonly applicationId: string;
  readonly interactions: API['interactions'];
  /** True when no bot token is set: a message can then be edited only through its interaction token. */
  readonly volatile: boolean;
  render(reply: Reply): DiscordMessage;
  /** The interaction's token can edit `messageId` (through `target`) until it expires. */
  remember(messageId: string, token: string, target: string, receivedAt: number): void;
  /** An outbound call, for the adapter's standing with Discord. */
  call<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * How Slipway answered the interaction's HTTP request:
 * - `pending`: not yet — the first answer goes into the HTTP response itself (help);
 * - `deferred`: type 5, Discord shows "thinking…" (public, or private when `ephemeral`) in the
 *   interaction's original response until it is edited or deleted;
 * - `update`: type 6 or 7 for a click: nothing shown; `@original` is the clicked message.
 */
export type AnswerState =
  | { kind: 'pending'; answer: (response: APIInteractionResponse) => void }
  | { kind: 'deferred'; ephemeral: boolean }
  | { kind: 'update' };

/**
 * One interaction's Responder: private answers, messages and in-place edits through the
 * interaction's webhook (its token, no bot needed). Discord's rule that the first follow-up to a
 * deferred response takes over the "thinking" message — keeping the deferral's visibility — is
 * why a private answer to a public deferral first deletes it, and a public answer to a private
 * one too.
 */
export class InteractionResponder implements Responder {
  private state: AnswerState;
  /** The deferred "thinking" message is still there, waiting for its content. */
  private originalOpen: boolean;

  constructor(
    private readonly link: InteractionLink,
    private readonly interaction: { token: string; receivedAt: number },
    state: AnswerState,
    clicked: PostedMessage | null = null,
  ) {
    this.state = state;
    this.originalOpen = state.kind === 'deferred';
    if (clicked) this.replace = (reply: Reply) => this.replaceClicked(clicked, reply);
  }

  replace?: (reply: Reply) => Promise<PostedMessage | null>;

  /** Still unanswered: the HTTP response becomes a deferral now (the work takes longer than the ack may wait). */
  deferNow(ephemeral: boolean): void {
    if (this.state.kind !== 'pending') return;
    this.state.answer({
      type: InteractionResponseType.DeferredChannelMessageWithSource,
      ...(ephemeral ? { data: { flags: MessageFlags.Ephemeral } } : {}),
    });
    this.state = { kind: 'deferred', ephemeral };
    this.originalOpen = true;
  }

  /** The work ended: an HTTP request still unanswered gets `reply` (privately). */
  settle(reply: Reply): void {
    if (this.state.kind === 'pending') void this.privately(reply);
  }

  async privately(reply: Reply): Promise<PostedMessage | null> {
    const data = { ...this.link.render(reply), flags: MessageFlags.Ephemeral };
    const state = this.state;
    if (state.kind === 'pending') {
      state.answer({ type: InteractionResponseType.ChannelMessageWithSource, data });
      this.state = { kind: 'update' };
      return null;
    }
    if (state.kind === 'deferred' && this.originalOpen) {
      this.originalOpen = false;
      if (state.ephemeral) {
        await this.edit('@original', this.link.render(reply));
        return null;
      }
      await this.deleteOriginal();
    }
    await this.followUp(data);
    return null;
  }

  async post(reply: Reply): Promise<PostedMessage | null> {
    const data = this.link.render(reply);
    const state = this.state;
    if (state.kind === 'pending') {
      // Only help answers inline, and privately; a public answer here cannot be tracked.
      state.answer({ type: InteractionResponseType.ChannelMessageWithSource, data });
      this.state = { kind: 'update' };
      return null;
    }
    if (state.kind === 'deferred' && this.originalOpen) {
      this.originalOpen = false;
      if (!state.ephemeral) {
        const message = await this.edit('@original', data);
        this.link.remember(message.id, this.interaction.token, '@original', this.interaction.receivedAt);
        return this.posted(message);
      }
      await this.deleteOriginal();
    }
    const message = await this.followUp(data);
    this.link.remember(message.id, this.interaction.token, message.id, this.interaction.receivedAt);
    return this.posted(message);
  }

  private async replaceClicked(clicked: PostedMessage, reply: Reply): Promise<PostedMessage | null> {
    await this.edit('@original', this.link.render(reply));
    this.link.remember(clicked.messageId, this.interaction.token, '@original', this.interaction.receivedAt);
    return { ...clicked, ...(this.link.volatile ? { volatile: true } : {}) };
  }

  private edit(target: string, body: DiscordMessage): Promise<APIMessage> {
    const { link, interaction } = this;
    return link.call(() => link.interactions.editReply(link.applicationId, interaction.token, body, target));
  }

  private followUp(data: DiscordMessage & { flags?: number }): Promise<APIMessage> {
    const { link, interaction } = this;
    return link.call(() => link.interactions.followUp(link.applicationId, interaction.token, data));
  }

  private async deleteOriginal(): Promise<void> {
    const { link, interaction } = this;
    await link
      .call(() => link.interactions.deleteReply(link.applicationId, interaction.token, '@original'))
      .catch((error: unknown) => {
        if (!isUnknownMessage(error)) throw error;
      });
  }

  private posted(message: APIMessage): PostedMessage {
    return {
      platform: 'discord',
      channel: message.channel_id,
      messageId: message.id,
      ...(this.link.volatile ? { volatile: true } : {}),
    };
  }
}
