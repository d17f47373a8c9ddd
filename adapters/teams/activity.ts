import { type Activity, type Mention, TurnContext } from 'botbuilder';
import type { ChatUser } from '../../src/chat/index.js';
import type { TeamsReference } from './bot.js';

/** Teams' tenant for an activity: the conversation's, or the channel data's. */
export function tenantOf(activity: Partial<Activity>): string | null {
  const channelData = activity.channelData as { tenant?: { id?: string } } | undefined;
  return activity.conversation?.tenantId ?? channelData?.tenant?.id ?? null;
}

/**
 * The person behind an activity: `teams:<tenant id>:<Entra object id>`, the ids Teams puts on
 * every activity it signs. A sender without an Entra object id (none should reach a Teams bot)
 * has no identity here.
 */
export function senderOf(activity: Partial<Activity>): ChatUser | null {
  const tenant = tenantOf(activity);
  const objectId = activity.from?.aadObjectId;
  if (!tenant || !objectId) return null;
  return {
    platform: 'teams',
    workspace: tenant,
    userId: objectId,
    displayName: (activity.from?.name ?? '').trim() || objectId,
  };
}

/** Where the activity came from, as stored with the messages Slipway posts there. */
export function referenceFrom(activity: Partial<Activity>): TeamsReference | null {
  const tenantId = tenantOf(activity);
  if (!activity.serviceUrl || !activity.conversation?.id || !tenantId) return null;
  const channelData = activity.channelData as { team?: { id?: string } } | undefined;
  return {
    serviceUrl: activity.serviceUrl,
    conversationId: activity.conversation.id,
    tenantId,
    ...(channelData?.team?.id ? { teamId: channelData.team.id } : {}),
    ...(activity.conversation.conversationType
      ? { conversationType: activity.conversation.conversationType }
      : {}),
    ...(activity.recipient?.id ? { botId: activity.recipient.id } : {}),
  };
}

/** The user mentions in a message, other than the bot itself. */
export function userMentions(activity: Partial<Activity>): Mention[] {
  const botId = activity.recipient?.id;
  return TurnContext.getMentions(activity).filter(
    (mention) => mention.mentioned?.id && mention.mentioned.id !== botId && mention.text,
  );
}

/**
 * A message's text as a command: the bot's own @mention removed (channels and group chats put
 * one in front), every other mention replaced by the token `tokenFor` gives for it (so the
 * command's grammar sees one word and the adapter knows whom it named), Teams' entities decoded,
 * an optional leading slash dropped.
 */
export function commandText(activity: Partial<Activity>, tokenFor: (mention: Mention) => string): string {
  let text = TurnContext.removeRecipientMention(activity) ?? activity.text ?? '';
  for (const mention of userMentions(activity)) {
    if (mention.text) text = text.split(mention.text).join(` ${tokenFor(mention)} `);
  }
  text = text
    .replace(/<\/?[a-z][^>]*>/gi, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  return text.replace(/^\/(?=\S)/, '');
}
