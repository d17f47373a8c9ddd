import {
  type ChannelTarget,
  type FetchLike,
  failureFromError,
  failureFromResponse,
  NotificationSendError,
  type NotificationSender,
  type NotificationSent,
  notificationReply,
  type OutgoingNotification,
  sendJson,
} from '../../src/chat/index.js';
import { replyToBlocks } from './blocks.js';

/** Slack errors worth trying again; every other `ok: false` needs a person (token, channel, scope). */
const RETRYABLE = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);
/** An edit that cannot happen: the message is gone, so the notification is posted anew. */
const MESSAGE_GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);
/** How a notification marks its Slack message, so an in-doubt retry can find it instead of posting twice. */
const METADATA_TYPE = 'slipway_notice';

interface SlackAnswer {
  ok: boolean;
  error?: string;
  ts?: string;
  channel?: string;
  messages?: { ts: string; metadata?: { event_type?: string; event_payload?: { delivery_id?: string } } }[];
}

class SlackApiError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Notifications to Slack: through the bot token to a channel (chat.postMessage, then chat.update of
 * the same message for later notifications about the same deployment), or to an incoming webhook URL
 * (a new message each time: incoming webhooks cannot edit).
 */
export function createSlackNotificationSender(options: {
  botToken?: string | undefined;
  apiUrl?: string | undefined;
  /** For incoming-webhook URLs (a user's): the outbound guard's fetch. The Web API is the operator's. */
  fetch: FetchLike;
}): NotificationSender {
  const apiUrl = options.apiUrl ?? 'https://slack.com/api/';

  const call = async (
    method: string,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<SlackAnswer> => {
    let response: Response;
    try {
      response = await fetch(`${apiUrl}${method}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          authorization: `Bearer ${options.botToken ?? ''}`,
          'user-agent': 'Slipway-Notifier',
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw failureFromError(error, `Slack ${method}`);
    }
    if (!response.ok) throw await failureFromResponse(response, `Slack ${method}`);
    const answer = (await response.json().catch(() => ({ ok: false, error: 'invalid_json' }))) as SlackAnswer;
    if (!answer.ok) {
      const code = answer.error ?? 'unknown_error';
      if (MESSAGE_GONE.has(code)) throw new SlackApiError(code);
      if (code === 'ratelimited')
        throw new NotificationSendError('rate_limited', `Slack ${method}: ratelimited`, {
          retryAfterMs: 1000,
        });
      throw new NotificationSendError(
        RETRYABLE.has(code) ? 'retryable' : 'permanent',
        `Slack ${method}: ${code}`,
      );
    }
    return answer;
  };

  /** After a crash mid-post: the message may be there already, marked with this delivery's id. */
  const findPosted = async (notification: OutgoingNotification, channel: string): Promise<string | null> => {
    const since = (notification.inDoubtSince?.getTime() ?? Date.now()) - 60_000;
    try {
      const history = await call(
        'conversations.history',
        { channel, oldest: (since / 1000).toFixed(6), limit: 100, include_all_metadata: true },
        notification.signal,
      );
      const found = history.messages?.find(
        (m) =>
          m.metadata?.event_type === METADATA_TYPE &&
          m.metadata.event_payload?.delivery_id === notification.deliveryId,
      );
      return found?.ts ?? null;
    } catch {
      // No channels:history scope, or Slack is down: posting again is the lesser evil than losing it.
      return null;
    }
  };

  const postToChannel = async (
    notification: OutgoingNotification,
    channel: string,
  ): Promise<NotificationSent> => {
    const rendered = replyToBlocks(notificationReply(notification.event));
    if (notification.previous) {
      try {
        await call(
          'chat.update',
          {
            channel: notification.previous.channel ?? channel,
            ts: notification.previous.messageId,
            ...rendered,
          },
          notification.signal,
        );
        return { message: notification.previous };
      } catch (error) {
        if (!(error instanceof SlackApiError)) throw error;
      }
    }
    if (notification.inDoubt) {
      const ts = await findPosted(notification, channel);
      if (ts) return { message: { channel, messageId: ts } };
    }
    const posted = await call(
      'chat.postMessage',
      {
        channel,
        ...rendered,
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: METADATA_TYPE, event_payload: { delivery_id: notification.deliveryId } },
      },
      notification.signal,
    ).catch((error: unknown) => {
      throw error instanceof SlackApiError
        ? new NotificationSendError('permanent', `Slack: ${error.code}`)
        : error;
    });
    // chat.update needs the channel id, which chat.postMessage returns even when given a #name.
    return { message: { channel: posted.channel ?? channel, messageId: posted.ts ?? '' } };
  };

  return {
    platform: 'slack',
    canEdit: (target: ChannelTarget) => target.kind === 'channel',
    // Slack allows about one message a second per channel.
    paceMs: 1000,
    targets: {
      webhook: true,
      channel: {
        pattern: /^[A-Za-z0-9#_-]{1,80}$/,
        message: 'channel must be a Slack channel id such as C0123ABCD',
      },
    },
    unavailable: (target: ChannelTarget) =>
      target.kind === 'channel' && !options.botToken
        ? 'posting to a Slack channel needs the bot token (SLACK_BOT_TOKEN); give an incoming webhookUrl instead, or configure the token'
        : null,
    async send(notification) {
      const target = notification.channel.target;
      if (target.kind === 'channel') return postToChannel(notification, target.channel);
      if (target.kind !== 'webhook')
        throw new NotificationSendError('permanent', 'a Slack channel needs a webhook URL or a channel id');
      const rendered = replyToBlocks(notificationReply(notification.event));
      await sendJson(
        target.url,
        { body: JSON.stringify(rendered), signal: notification.signal, fetch: options.fetch },
        'Slack incoming webhook',
      );
      return { message: null };
    },
  };
}
