import type { PostedNotificationRef } from '../../db/entities/index.js';
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
 * A platform's way of sending notifications, implemented by the adapters (Slack, Discord, Teams,
 * webhook, e-mail) and registered in main.ts. The core never imports one.
 */
export interface NotificationSender {
  readonly platform: NotificationPlatform;
  /** True when a second notification about the same subject can edit the first message. */
  canEdit(target: ChannelTarget): boolean;
  /** Why this sender cannot serve the target (e.g. no bot token configured), or null. */
  unavailable(target: ChannelTarget): string | null;
  /** Resolves when the platform accepted it; throws NotificationSendError (or anything: retryable). */
  send(notification: OutgoingNotification): Promise<NotificationSent>;
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

/** `Retry-After` as seconds or an HTTP date → milliseconds from now (null when absent or unreadable). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * The usual reading of an HTTP answer from a chat platform or a webhook receiver: 2xx sent;
 * 429 (and 503 with Retry-After) rate limited; 408, 425, 5xx retryable; other 4xx permanent
 * (a deleted webhook, a revoked token: trying again will not help until someone fixes it).
 */
export async function failureFromResponse(response: Response, what: string): Promise<NotificationSendError> {
  const body = (await response.text().catch(() => '')).slice(0, 300);
  const retryAfterMs =
    parseRetryAfter(response.headers.get('retry-after')) ?? retryAfterFromBody(body) ?? undefined;
  const status = response.status;
  const detail = `${what} answered HTTP ${status}${body ? `: ${body.replace(/\s+/g, ' ').trim()}` : ''}`;
  if (status === 429 || (status === 503 && retryAfterMs !== undefined)) {
    return new NotificationSendError('rate_limited', detail, { status, retryAfterMs: retryAfterMs ?? 1000 });
  }
  if (status === 408 || status === 425 || status >= 500) {
    return new NotificationSendError('retryable', detail, {
      status,
      ...(retryAfterMs ? { retryAfterMs } : {}),
    });
  }
  return new NotificationSendError('permanent', detail, { status });
}

/** Discord sends `{"retry_after": 1.5}` (seconds) in 429 bodies. */
function retryAfterFromBody(body: string): number | null {
  const match = /"retry_after"\s*:\s*([\d.]+)/.exec(body);
  return match ? Math.ceil(Number(match[1]) * 1000) : null;
}

/** A network error, a timeout or an abort: the request may or may not have arrived. */
export function failureFromError(error: unknown, what: string): NotificationSendError {
  if (error instanceof NotificationSendError) return error;
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  const message =
    (error as Error).name === 'TimeoutError' ? 'timed out' : ((error as Error).message ?? String(error));
  return new NotificationSendError('retryable', `${what}: ${message}${cause ? ` (${cause})` : ''}`);
}

/** POSTs (or PATCHes) JSON and reads the answer; any failure comes back as a NotificationSendError. */
export async function sendJson(
  url: string,
  init: { method?: string; body: string; headers?: Record<string, string>; signal: AbortSignal },
  what: string,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Slipway-Notifier', ...init.headers },
      body: init.body,
      signal: init.signal,
    });
  } catch (error) {
    throw failureFromError(error, what);
  }
  if (!response.ok) throw await failureFromResponse(response, what);
  return response;
}
