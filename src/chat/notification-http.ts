import { STATUS_CODES } from 'node:http';
import { failureFromError, NotificationSendError } from '../core/notifications/index.js';

/** `fetch`, or a guarded one (src/net/outbound-guard.ts) for URLs a user gave. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** `Retry-After` as seconds or an HTTP date → milliseconds from now (null when absent or unreadable). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** A platform's own way of saying how long to wait, read from an error body (milliseconds, or null). */
export type RetryAfterFromBody = (body: string) => number | null;

/**
 * The usual reading of an HTTP answer from a chat platform or a webhook receiver: 2xx sent;
 * 429 (and 503 with Retry-After) rate limited; 408, 425, 5xx retryable; other 4xx permanent
 * (a deleted webhook, a revoked token: trying again will not help until someone fixes it).
 * A platform that says how long to wait in its body (Discord) passes its reader.
 */
export async function failureFromResponse(
  response: Response,
  what: string,
  retryAfterFromBody?: RetryAfterFromBody,
): Promise<NotificationSendError> {
  // The body is read for a platform's retry hint only: it is the remote's text, and a stored
  // error (a channel's last_error, readable by viewers) keeps the status and our own words.
  const body = (await response.text().catch(() => '')).slice(0, 300);
  const retryAfterMs =
    parseRetryAfter(response.headers.get('retry-after')) ?? retryAfterFromBody?.(body) ?? undefined;
  const status = response.status;
  const detail = `${what} answered HTTP ${status}${STATUS_CODES[status] ? ` (${STATUS_CODES[status]})` : ''}`;
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

/** POSTs (or PATCHes) JSON and reads the answer; any failure comes back as a NotificationSendError. */
export async function sendJson(
  url: string,
  init: {
    method?: string;
    body: string;
    headers?: Record<string, string>;
    signal: AbortSignal;
    retryAfterFromBody?: RetryAfterFromBody;
    /** The fetch to send with: the outbound guard's for a URL a user gave. */
    fetch?: FetchLike;
  },
  what: string,
): Promise<Response> {
  let response: Response;
  try {
    response = await (init.fetch ?? fetch)(url, {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Slipway-Notifier', ...init.headers },
      body: init.body,
      signal: init.signal,
    });
  } catch (error) {
    throw failureFromError(error, what);
  }
  if (!response.ok) throw await failureFromResponse(response, what, init.retryAfterFromBody);
  return response;
}
