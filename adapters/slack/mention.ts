import type { ChatUser } from '../../src/chat/index.js';

/**
 * Slack's mention syntax: `<@U123>` or `<@U123|name>` names a user of the invoker's workspace.
 * A bare `@name` or `name` is read as a user id too (as the console reads names).
 */
export function readSlackMention(invoker: ChatUser, token: string): ChatUser | null {
  const slack = /^<@([A-Z0-9]+)(?:\|([^>]*))?>$/.exec(token);
  if (slack?.[1]) {
    return {
      platform: invoker.platform,
      workspace: invoker.workspace,
      userId: slack[1],
      displayName: slack[2] ?? slack[1],
    };
  }
  const plain = /^@?([A-Za-z0-9._-]{1,80})$/.exec(token);
  if (plain?.[1]) {
    return {
      platform: invoker.platform,
      workspace: invoker.workspace,
      userId: plain[1],
      displayName: plain[1],
    };
  }
  return null;
}
