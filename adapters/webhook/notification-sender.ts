import {
  type FetchLike,
  NotificationSendError,
  type NotificationSender,
  notificationReply,
  replyToPlainText,
  sendJson,
} from '../../src/chat/index.js';
import { signWebhookBody } from './signature.js';

/**
 * Notifications as signed JSON POSTs. The body carries the event (type, project, structured data),
 * the same message as chat (`message`) and a plain but complete text rendering (`text`).
 *
 * Headers: `X-Slipway-Signature: sha256=<hex>` (HMAC-SHA256 of the raw body with the channel's
 * secret), `X-Slipway-Event`, and `X-Slipway-Delivery` (also `Idempotency-Key`): the same for
 * every attempt of one event to one channel — a receiver that records the ids it has processed
 * sees each event once, even when a worker died after sending and the delivery was retried.
 * The URL is a user's: it is called through the outbound guard (`options.fetch`).
 */
export function createWebhookNotificationSender(options: { fetch: FetchLike }): NotificationSender {
  return {
    platform: 'webhook',
    paceMs: 0,
    targets: { webhook: true, signed: true, missing: 'a webhook channel needs webhookUrl' },
    canEdit: () => false,
    unavailable: () => null,
    async send(notification) {
      const target = notification.channel.target;
      if (target.kind !== 'webhook')
        throw new NotificationSendError('permanent', 'a webhook channel needs a URL');
      if (!notification.channel.secret)
        throw new NotificationSendError('permanent', 'a webhook channel needs a signing secret');
      const event = notification.event;
      const reply = notificationReply(event);
      const body = JSON.stringify({
        id: event.id,
        delivery_id: notification.deliveryId,
        type: event.type,
        occurred_at: event.occurredAt,
        sent_at: new Date().toISOString(),
        attempt: notification.attempt,
        project: event.project,
        subject: event.subject,
        data: event.data,
        message: reply,
        text: replyToPlainText(reply),
      });
      await sendJson(
        target.url,
        {
          body,
          signal: notification.signal,
          fetch: options.fetch,
          headers: {
            'user-agent': 'Slipway-Webhook/1',
            'x-slipway-event': event.type,
            'x-slipway-delivery': notification.deliveryId,
            'idempotency-key': notification.deliveryId,
            'x-slipway-attempt': String(notification.attempt),
            'x-slipway-signature': signWebhookBody(notification.channel.secret, body),
          },
        },
        `webhook "${notification.channel.name}"`,
      );
      return { message: null };
    },
  };
}
