import { noticeReply } from '../../src/chat/notices.js';
import {
  type ChannelTarget,
  NoticeSendError,
  type NoticeSender,
  type NoticeSent,
  type OutgoingNotice,
  sendJson,
} from '../../src/core/notifications/index.js';
import { replyToDiscordMessage } from './embed.js';

/**
 * Notices to Discord: to a webhook URL (execute with `?wait=true`, which returns the message,
 * then PATCH `/messages/<id>` for later notices about the same deployment), or to a channel
 * through the bot token (create, then edit). Bot messages carry the delivery id as an enforced
 * nonce, so Discord itself refuses a duplicate after a worker died mid-send.
 */
export function createDiscordNoticeSender(options: {
  botToken?: string | undefined;
  apiUrl?: string | undefined;
}): NoticeSender {
  const apiUrl = (options.apiUrl ?? 'https://discord.com/api/v10').replace(/\/+$/, '');
  const botHeaders = () => ({ authorization: `Bot ${options.botToken ?? ''}` });

  const request = async (
    url: string,
    method: 'POST' | 'PATCH',
    body: unknown,
    notice: OutgoingNotice,
    headers: Record<string, string> = {},
  ): Promise<{ id: string; channelId: string | null; pauseMs: number }> => {
    const response = await sendJson(
      url,
      { method, body: JSON.stringify(body), headers, signal: notice.signal },
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
    notice: OutgoingNotice,
    body: unknown,
    headers?: Record<string, string>,
  ) => {
    try {
      return await request(url, 'PATCH', body, notice, headers);
    } catch (error) {
      if (error instanceof NoticeSendError && error.details.status === 404) return null;
      throw error;
    }
  };

  const toWebhook = async (notice: OutgoingNotice, webhookUrl: string): Promise<NoticeSent> => {
    // Webhooks not owned by an application cannot carry buttons.
    const body = replyToDiscordMessage(noticeReply(notice.event), { components: false });
    if (notice.previous) {
      const url = new URL(webhookUrl);
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/messages/${encodeURIComponent(notice.previous.messageId)}`;
      const edited = await edit(url.toString(), notice, body);
      if (edited) return { message: notice.previous, pauseMs: edited.pauseMs };
    }
    const url = new URL(webhookUrl);
    url.searchParams.set('wait', 'true');
    const posted = await request(url.toString(), 'POST', body, notice);
    return { message: { messageId: posted.id }, pauseMs: posted.pauseMs };
  };

  const toChannel = async (notice: OutgoingNotice, channel: string): Promise<NoticeSent> => {
    const body = replyToDiscordMessage(noticeReply(notice.event));
    if (notice.previous) {
      const url = `${apiUrl}/channels/${encodeURIComponent(notice.previous.channel ?? channel)}/messages/${encodeURIComponent(notice.previous.messageId)}`;
      const edited = await edit(url, notice, body, botHeaders());
      if (edited) return { message: notice.previous, pauseMs: edited.pauseMs };
    }
    const posted = await request(
      `${apiUrl}/channels/${encodeURIComponent(channel)}/messages`,
      'POST',
      { ...body, nonce: notice.deliveryId.replace(/-/g, '').slice(0, 25), enforce_nonce: true },
      notice,
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
    unavailable: (target: ChannelTarget) =>
      target.kind === 'channel' && !options.botToken
        ? 'posting to a Discord channel needs DISCORD_BOT_TOKEN (or give the channel a webhook URL)'
        : null,
    async send(notice) {
      const target = notice.channel.target;
      if (target.kind === 'channel') return toChannel(notice, target.channel);
      if (target.kind === 'webhook') return toWebhook(notice, target.url);
      throw new NoticeSendError('permanent', 'a Discord channel needs a webhook URL or a channel id');
    },
  };
}
