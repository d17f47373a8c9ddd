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
  /** Least time between two messages to one channel, per platform (Slack ≈ 1 message/s per channel). */
  paceMs: Record<NotificationPlatform, number>;
  /** A pacing wait up to this long is slept in the worker; a longer one becomes a scheduled job. */
  maxInlineWaitMs: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 12,
  retryBaseMs: 2000,
  retryMaxMs: 15 * 60_000,
  timeoutMs: 10_000,
  failingAfter: 5,
  // Slack: ≈1/s per channel; Discord webhooks: 5 per 2 s; Teams connectors: ≈4/s.
  paceMs: { slack: 1000, discord: 400, teams: 250, webhook: 0, email: 0 },
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
