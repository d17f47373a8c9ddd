/** An interaction token lives 15 minutes; we stop using it a little before Discord does. */
export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60_000;
const MARGIN_MS = 30_000;

/** How a message can be edited through an interaction's webhook. */
export interface TokenHandle {
  token: string;
  /** `@original` (the interaction's response, or the message a clicked button is on) or a follow-up's id. */
  target: string;
  expiresAt: number;
}

/**
 * The interaction tokens this process holds, by the message each can edit: the freshest wins
 * (a click on an old card brings a new token for it). Tokens are short-lived capabilities, so,
 * like Slack's response_url, they are kept in memory only, never stored; past their lifetime —
 * or in another replica — the bot edits the message instead.
 */
export class InteractionTokens {
  private readonly byMessage = new Map<string, TokenHandle>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly max = 10_000,
  ) {}

  /** `receivedAt`: when the interaction arrived (its token's life started then). */
  remember(messageId: string, token: string, target: string, receivedAt: number): void {
    const expiresAt = receivedAt + INTERACTION_TOKEN_LIFETIME_MS - MARGIN_MS;
    const held = this.byMessage.get(messageId);
    if (held && held.expiresAt >= expiresAt) return;
    this.byMessage.delete(messageId);
    this.byMessage.set(messageId, { token, target, expiresAt });
    if (this.byMessage.size > this.max) this.prune();
  }

  /** A live token for the message, or undefined. */
  live(messageId: string): TokenHandle | undefined {
    const held = this.byMessage.get(messageId);
    if (held && held.expiresAt > this.now()) return held;
    if (held) this.byMessage.delete(messageId);
    return undefined;
  }

  /** Discord refused the token (expired, or the message is gone): never try it again. */
  forget(messageId: string, token: string): void {
    if (this.byMessage.get(messageId)?.token === token) this.byMessage.delete(messageId);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, held] of this.byMessage) if (held.expiresAt <= now) this.byMessage.delete(id);
    // Still too many (a burst of interactions): drop the oldest-inserted.
    for (const id of this.byMessage.keys()) {
      if (this.byMessage.size <= this.max) break;
      this.byMessage.delete(id);
    }
  }
}
