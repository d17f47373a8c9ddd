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
