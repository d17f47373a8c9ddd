import type { NotificationPlatform } from '../../vocabulary.js';

/** How hard and how fast the delivery worker tries. */
export interface DeliveryPolicy {
  /** Tries of one delivery before it is marked failed (kept, and sent again when the channel is fixed). */
  maxAttempts: number;
  /** First retry delay; each later one doubles, with jitter, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Time allowed for one request to the platform. */
  timeoutMs: number;
  /** Consecutive failures after which a channel is marked failing and reported. */
  failingAfter: number;
  /** Overrides of the senders' own pace (least time between two messages to one channel), by platform. */
  paceMs: Partial<Record<NotificationPlatform, number>>;
  /** A pacing wait up to this long is slept in the worker; a longer one becomes a scheduled job. */
  maxInlineWaitMs: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 12,
  retryBaseMs: 2000,
  retryMaxMs: 15 * 60_000,
  timeoutMs: 10_000,
  failingAfter: 5,
  // Each platform's sender says its own pace (Slack ≈1 message/s per channel); none overridden.
  paceMs: {},
  maxInlineWaitMs: 2000,
};

/**
 * Exponential back-off with "equal jitter": half the delay fixed, half random, so retries of many
 * deliveries that failed together spread out instead of arriving together again.
 */
export function backoffMs(
  policy: Pick<DeliveryPolicy, 'retryBaseMs' | 'retryMaxMs'>,
  failures: number,
  random = Math.random(),
): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const ceiling = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
