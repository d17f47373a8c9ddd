import type { PostedNotificationRef } from '../../db/entities/index.js';
import { isOutboundRefusal } from '../../net/outbound-guard.js';
import type { NotificationPlatform } from '../../vocabulary.js';
import type { Notification } from './notification-events.js';

/** Where a channel's notifications go; sealed at rest (webhook URLs are secrets). */
export type ChannelTarget =
  | { kind: 'webhook'; url: string }
  | { kind: 'channel'; channel: string }
  | { kind: 'email'; to: string[] };

/** One notification for one channel, as the delivery worker hands it to the platform's sender. */
export interface OutgoingNotification {
  /** The idempotency key: the same for every attempt of this event in this channel. */
  deliveryId: string;
  attempt: number;
  /** A worker died while sending an earlier attempt: the platform may already have it. */
  inDoubt: boolean;
  /** When the in-doubt attempt began (senders that can look for it search from there). */
  inDoubtSince: Date | null;
  event: Notification;
  channel: {
    id: string;
    name: string;
    platform: NotificationPlatform;
    target: ChannelTarget;
    secret: string | null;
  };
  /** The message already showing this notification's subject in this channel: edit it, do not post anew. */
  previous: PostedNotificationRef | null;
  signal: AbortSignal;
}

export interface NotificationSent {
  /** How to find the message again, for platforms that edit in place. */
  message: PostedNotificationRef | null;
  /** The platform said the channel's budget is spent for this long (e.g. X-RateLimit-Remaining: 0). */
  pauseMs?: number;
}

/**
 * What a platform accepts as a channel's target, declared by its sender so that the platform's
 * rules (its id format, which kinds it takes) live in its adapter folder, not in the core.
 */
export interface ChannelTargetRules {
  /** Incoming-webhook URLs (`webhookUrl`). */
  webhook?: boolean;
  /** A channel the bot posts to (`channel`): its id format, and what to say when it is not one. */
  channel?: { pattern: RegExp; message: string };
  /** E-mail addresses (`email`). */
  email?: boolean;
  /** Requests are signed with the channel's `secret`, so one is required. */
  signed?: boolean;
  /** What to say when the channel names no target at all (for platforms with one kind). */
  missing?: string;
}

/**
 * A platform's way of sending notifications, implemented by the adapters (Slack, Discord, Teams,
 * webhook, e-mail) and listed in the adapter registry (adapters/index.ts). The core never imports one.
 */
export interface NotificationSender {
  readonly platform: NotificationPlatform;
  /** The platform's rules for a channel's target, checked when a channel is created or changed. */
  readonly targets: ChannelTargetRules;
  /** Least time between two messages to one channel, the platform's rate limit (0: none). */
  readonly paceMs: number;
  /** True when a second notification about the same subject can edit the first message. */
  canEdit(target: ChannelTarget): boolean;
  /**
   * The platform keeps every update of a subject (GitHub keeps each deployment status): each
   * notification is sent, in order, and none is folded into a later one queued behind it.
   */
  readonly keepsHistory?: boolean;
  /** Why this sender cannot serve the target (e.g. no bot token configured), or null. */
  unavailable(target: ChannelTarget): string | null;
  /** Resolves when the platform accepted it; throws NotificationSendError (or anything: retryable). */
  send(notification: OutgoingNotification): Promise<NotificationSent>;
  /** Closes what the sender holds open (an SMTP pool), at shutdown. */
  close?(): void;
}

export type NotificationFailureKind = 'retryable' | 'permanent' | 'rate_limited';

export class NotificationSendError extends Error {
  override readonly name = 'NotificationSendError';
  constructor(
    readonly kind: NotificationFailureKind,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
}

/** A network error, a timeout or an abort: the request may or may not have arrived. */
export function failureFromError(error: unknown, what: string): NotificationSendError {
  if (error instanceof NotificationSendError) return error;
  // An internal address: trying again will not help until someone changes the URL (or the range).
  if (isOutboundRefusal(error)) return new NotificationSendError('permanent', `${what}: ${error.message}`);
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  const message =
    (error as Error).name === 'TimeoutError' ? 'timed out' : ((error as Error).message ?? String(error));
  return new NotificationSendError('retryable', `${what}: ${message}${cause ? ` (${cause})` : ''}`);
}
