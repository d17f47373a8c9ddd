import {
  type ChannelTarget,
  type FetchLike,
  NotificationSendError,
  type NotificationSender,
  type NotificationSent,
  notificationReply,
  type OutgoingNotification,
  sendJson,
} from '../../src/chat/index.js';
import { replyToDiscordMessage } from './embed.js';

/**
 * Notifications to Discord: to a webhook URL (execute with `?wait=true`, which returns the message,
 * then PATCH `/messages/<id>` for later notifications about the same deployment), or to a channel
 * through the bot token (create, then edit). Bot messages carry the delivery id as an enforced
 * nonce, so Discord itself refuses a duplicate after a worker died mid-send.
 */
export function createDiscordNotificationSender(options: {
  botToken?: string | undefined;
  apiUrl?: string | undefined;
  /** For webhook URLs (a user's): the outbound guard's fetch. The bot API is the operator's. */
  fetch: FetchLike;
}): NotificationSender {
  const apiUrl = (options.apiUrl ?? 'https://discord.com/api/v10').replace(/\/+$/, '');
  const botHeaders = () => ({ authorization: `Bot ${options.botToken ?? ''}` });

  const request = async (
    url: string,
    method: 'POST' | 'PATCH',
    body: unknown,
    notification: OutgoingNotification,
    headers: Record<string, string> = {},
    via: FetchLike = fetch,
  ): Promise<{ id: string; channelId: string | null; pauseMs: number }> => {
    const response = await sendJson(
      url,
      {
        method,
        body: JSON.stringify(body),
        headers,
        signal: notification.signal,
        retryAfterFromBody: discordRetryAfter,
        fetch: via,
      },
      'Discord',
    );
    const message = (await response.json().catch(() => ({}))) as { id?: string; channel_id?: string };
    // The bucket is spent: the channel waits for it to refill rather than earn a 429.
    const remaining = response.headers.get('x-ratelimit-remaining');
    const resetAfter = Number(response.headers.get('x-ratelimit-reset-after') ?? 0);
    return {
      id: message.id ?? '',
      channelId: message.channel_id ?? null,
      pauseMs: remaining === '0' && resetAfter > 0 ? Math.ceil(resetAfter * 1000) : 0,
    };
  };

  /** Edits the previous message; null when it is gone (deleted), so the caller posts anew. */
  const edit = async (
    url: string,
    notification: OutgoingNotification,
    body: unknown,
    headers?: Record<string, string>,
    via?: FetchLike,
  ) => {
    try {
      return await request(url, 'PATCH', body, notification, headers, via);
    } catch (error) {
      if (error instanceof NotificationSendError && error.details.status === 404) return null;
      throw error;
    }
  };

  const toWebhook = async (
    notification: OutgoingNotification,
    webhookUrl: string,
  ): Promise<NotificationSent> => {
    // Webhooks not owned by an application cannot carry buttons.
    const body = replyToDiscordMessage(notificationReply(notification.event), { components: false });
    if (notification.previous) {
      const url = new URL(webhookUrl);
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/messages/${encodeURIComponent(notification.previous.messageId)}`;
      const edited = await edit(url.toString(), notification, body, {}, options.fetch);
      if (edited) return { message: notification.previous, pauseMs: edited.pauseMs };
    }
    const url = new URL(webhookUrl);
    url.searchParams.set('wait', 'true');
    const posted = await request(url.toString(), 'POST', body, notification, {}, options.fetch);
    return { message: { messageId: posted.id }, pauseMs: posted.pauseMs };
  };

  const toChannel = async (
    notification: OutgoingNotification,
    channel: string,
  ): Promise<NotificationSent> => {
    const body = replyToDiscordMessage(notificationReply(notification.event));
    if (notification.previous) {
      const url = `${apiUrl}/channels/${encodeURIComponent(notification.previous.channel ?? channel)}/messages/${encodeURIComponent(notification.previous.messageId)}`;
      const edited = await edit(url, notification, body, botHeaders());
      if (edited) return { message: notification.previous, pauseMs: edited.pauseMs };
    }
    const posted = await request(
      `${apiUrl}/channels/${encodeURIComponent(channel)}/messages`,
      'POST',
      { ...body, nonce: notification.deliveryId.replace(/-/g, '').slice(0, 25), enforce_nonce: true },
      notification,
      botHeaders(),
    );
    return {
      message: { channel: posted.channelId ?? channel, messageId: posted.id },
      pauseMs: posted.pauseMs,
    };
  };

  return {
    platform: 'discord',
    canEdit: () => true,
    // Discord webhooks: 5 messages per 2 s.
    paceMs: 400,
    targets: {
      webhook: true,
      channel: { pattern: /^\d{15,22}$/, message: 'channel must be a Discord channel id (digits)' },
    },
    unavailable: (target: ChannelTarget) =>
      target.kind === 'channel' && !options.botToken
        ? 'posting to a Discord channel needs the bot token (DISCORD_BOT_TOKEN); give a webhookUrl instead, or configure the token'
        : null,
    async send(notification) {
      const target = notification.channel.target;
      if (target.kind === 'channel') return toChannel(notification, target.channel);
      if (target.kind === 'webhook') return toWebhook(notification, target.url);
      throw new NotificationSendError('permanent', 'a Discord channel needs a webhook URL or a channel id');
    },
  };
}

/** Discord says how long to wait in its 429 bodies too: `{"retry_after": 1.5}` (seconds). */
export function discordRetryAfter(body: string): number | null {
  const match = /"retry_after"\s*:\s*([\d.]+)/.exec(body);
  return match ? Math.ceil(Number(match[1]) * 1000) : null;
}
