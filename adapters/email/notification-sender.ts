import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import {
  NotificationSendError,
  type NotificationSender,
  notificationReply,
  replyToPlainText,
} from '../../src/chat/index.js';
import { replyToHtml } from './html.js';

/** SMTP codes that mean "this will not work by trying again" (5xx); 4xx are temporary. */
function classify(error: unknown): NotificationSendError {
  const e = error as { responseCode?: number; code?: string; message?: string };
  const message = `SMTP: ${e.message ?? String(error)}`.slice(0, 500);
  if (typeof e.responseCode === 'number') {
    return new NotificationSendError(e.responseCode >= 500 ? 'permanent' : 'retryable', message, {
      status: e.responseCode,
    });
  }
  if (e.code === 'EAUTH' || e.code === 'EENVELOPE') return new NotificationSendError('permanent', message);
  return new NotificationSendError('retryable', message);
}

/**
 * Notifications by e-mail through nodemailer over SMTP (`SLIPWAY_SMTP_URL`): a subject line, a plain
 * text part and an HTML part. The Message-ID is derived from the delivery id, so a message
 * re-sent after a crash carries the same id and mail systems that dedupe by it keep one; all the
 * notifications about one deployment reference the same thread id, so mail clients group them.
 */
export function createEmailNotificationSender(options: {
  smtpUrl: string | undefined;
  from: string;
  timeoutMs?: number;
}) {
  const transport = options.smtpUrl
    ? nodemailer.createTransport({
        url: options.smtpUrl,
        pool: true,
        maxConnections: 2,
        connectionTimeout: options.timeoutMs ?? 10_000,
        greetingTimeout: options.timeoutMs ?? 10_000,
        socketTimeout: (options.timeoutMs ?? 10_000) * 3,
      })
    : null;
  const domain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'slipway.invalid';

  const sender: NotificationSender & { close(): void } = {
    platform: 'email',
    canEdit: () => false,
    paceMs: 0,
    targets: { email: true, missing: 'an email channel needs email (one or more addresses)' },
    unavailable: () => (transport ? null : 'e-mail channels need an SMTP server: set SLIPWAY_SMTP_URL'),
    async send(notification) {
      const target = notification.channel.target;
      if (!transport) throw new NotificationSendError('permanent', 'e-mail channels need SLIPWAY_SMTP_URL');
      if (target.kind !== 'email')
        throw new NotificationSendError('permanent', 'an e-mail channel needs addresses');
      const event = notification.event;
      const reply = notificationReply(event);
      const thread = event.subject
        ? `<${createHash('sha256').update(event.subject).digest('hex').slice(0, 32)}@${domain}>`
        : undefined;
      try {
        await transport.sendMail({
          from: options.from,
          to: target.to,
          subject: `[Slipway] ${reply.title ?? reply.text}`.slice(0, 200),
          text: replyToPlainText(reply),
          html: replyToHtml(reply),
          messageId: `<${notification.deliveryId}@${domain}>`,
          ...(thread ? { references: [thread], inReplyTo: thread } : {}),
          headers: {
            'X-Slipway-Event': event.type,
            'X-Slipway-Delivery': notification.deliveryId,
            'Auto-Submitted': 'auto-generated',
          },
        });
      } catch (error) {
        throw classify(error);
      }
      return { message: null };
    },
    close: () => transport?.close(),
  };
  return sender;
}
