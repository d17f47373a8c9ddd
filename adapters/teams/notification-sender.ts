import {
  type FetchLike,
  NotificationSendError,
  type NotificationSender,
  notificationReply,
  sendJson,
} from '../../src/chat/index.js';
import { replyToAdaptiveCard } from './adaptive-card.js';

/**
 * Notifications to a Microsoft Teams incoming webhook (a connector or a Workflows URL) as an Adaptive
 * Card. Incoming webhooks cannot edit a message, so each notification is a new card, and they cannot
 * receive button clicks, so the card has none.
 */
export function createTeamsNotificationSender(options: { fetch: FetchLike }): NotificationSender {
  return {
    platform: 'teams',
    // Teams connectors: about 4 messages a second.
    paceMs: 250,
    targets: { webhook: true, missing: 'a teams channel needs webhookUrl (an incoming webhook)' },
    canEdit: () => false,
    unavailable: () => null,
    async send(notification) {
      const target = notification.channel.target;
      if (target.kind !== 'webhook')
        throw new NotificationSendError('permanent', 'a Teams channel needs an incoming webhook URL');
      const card = replyToAdaptiveCard(notificationReply(notification.event), { actions: false });
      const payload = {
        type: 'message',
        attachments: [
          { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
        ],
      };
      const response = await sendJson(
        target.url,
        { body: JSON.stringify(payload), signal: notification.signal, fetch: options.fetch },
        'Teams webhook',
      );
      // Office 365 connectors answer 200 even when Teams refused the card, with the reason as text.
      const text = (await response.text().catch(() => '')).trim();
      // Our words, not the remote's text: a stored error never carries the body.
      if (/HTTP error 429/i.test(text)) {
        throw new NotificationSendError(
          'rate_limited',
          'Teams webhook: rate limited (HTTP 429 in the body)',
          {
            retryAfterMs: 2000,
          },
        );
      }
      if (/failed|error/i.test(text) && text !== '1') {
        throw new NotificationSendError(
          'retryable',
          `Teams webhook answered HTTP ${response.status} but refused the card`,
          { status: response.status },
        );
      }
      return { message: null };
    },
  };
}
