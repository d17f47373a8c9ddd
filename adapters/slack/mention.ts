import type { ChatUser } from '../../src/chat/index.js';

/**
 * Slack's mention syntax: `<@U123>` or `<@U123|name>` names a user of the invoker's workspace
 * (Slack writes it when someone picks a person after typing @; the manifest's
 * `should_escape: true` makes Slack send it that way). Anything else — `@name` typed as text —
 * is no identity Slack vouches for, and is refused.
 */
export function readSlackMention(invoker: ChatUser, token: string): ChatUser | null {
  const slack = /^<@([UW][A-Z0-9]{2,})(?:\|([^>]*))?>$/.exec(token);
  if (!slack?.[1]) return null;
  return {
    platform: invoker.platform,
    workspace: invoker.workspace,
    userId: slack[1],
    displayName: slack[2] || slack[1],
  };
}
