import { noticeReply } from '../../src/chat/notices.js';
import { replyToPlainText } from '../../src/chat/plain-text.js';
import { NoticeSendError, type NoticeSender, sendJson } from '../../src/core/notifications/index.js';
import { signWebhookBody } from './signature.js';

/**
 * Notices as signed JSON POSTs. The body carries the event (type, project, structured data),
 * the same message as chat (`message`) and a plain but complete text rendering (`text`).
 *
 * Headers: `X-Slipway-Signature: sha256=<hex>` (HMAC-SHA256 of the raw body with the channel's
 * secret), `X-Slipway-Event`, and `X-Slipway-Delivery` (also `Idempotency-Key`): the same for
 * every attempt of one event to one channel — a receiver that records the ids it has processed
 * sees each event once, even when a worker died after sending and the delivery was retried.
 */
export function createWebhookNoticeSender(): NoticeSender {
  return {
    platform: 'webhook',
    canEdit: () => false,
    unavailable: () => null,
    async send(notice) {
      const target = notice.channel.target;
      if (target.kind !== 'webhook') throw new NoticeSendError('permanent', 'a webhook channel needs a URL');
      if (!notice.channel.secret)
        throw new NoticeSendError('permanent', 'a webhook channel needs a signing secret');
      const event = notice.event;
      const reply = noticeReply(event);
      const body = JSON.stringify({
        id: event.id,
        delivery_id: notice.deliveryId,
        type: event.type,
        occurred_at: event.occurredAt,
        sent_at: new Date().toISOString(),
        attempt: notice.attempt,
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
          signal: notice.signal,
          headers: {
            'user-agent': 'Slipway-Webhook/1',
            'x-slipway-event': event.type,
            'x-slipway-delivery': notice.deliveryId,
            'idempotency-key': notice.deliveryId,
            'x-slipway-attempt': String(notice.attempt),
            'x-slipway-signature': signWebhookBody(notice.channel.secret, body),
          },
        },
        `webhook "${notice.channel.name}"`,
      );
      return { message: null };
    },
  };
}
