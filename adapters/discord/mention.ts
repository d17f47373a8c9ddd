import type { ChatUser } from '../../src/chat/index.js';

/**
 * Discord's user mention: `<@id>` (or the older `<@!id>`), as Discord writes a mention typed in a
 * message or chosen in a user option. Only that form names a person: plain text like `@ada` or
 * `ada` cannot be told apart from a nickname someone made up, so it is refused (null).
 * `nameOf` gives the name Discord showed for the id in the same interaction, when it did.
 */
export function readDiscordMention(
  invoker: ChatUser,
  token: string,
  nameOf: (userId: string) => string | undefined = () => undefined,
): ChatUser | null {
  const match = /^<@!?(\d{15,22})>$/.exec(token.trim());
  if (!match?.[1]) return null;
  return {
    platform: invoker.platform,
    workspace: invoker.workspace,
    userId: match[1],
    displayName: nameOf(match[1]) ?? match[1],
  };
}

/** Names Discord showed for user ids in recent interactions, so a mention can name the person. */
export class KnownNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly max = 2_000) {}

  learn(users: Record<string, { username: string; global_name?: string | null }> | undefined): void {
    for (const [id, user] of Object.entries(users ?? {})) {
      this.names.delete(id);
      this.names.set(id, user.global_name ?? user.username);
    }
    for (const id of this.names.keys()) {
      if (this.names.size <= this.max) break;
      this.names.delete(id);
    }
  }

  of(userId: string): string | undefined {
    return this.names.get(userId);
  }
}
