import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-slipway-signature';

/** `sha256=<hex>`: HMAC-SHA256 of the raw request body with the channel's secret (GitHub's scheme). */
export function signWebhookBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * What a receiver does before anything else: recompute the signature over the raw bytes it
 * received and compare in constant time. (Exported for receivers written in TypeScript, and for
 * the tests, which verify every request the way a receiver should.)
 */
export function verifyWebhookSignature(
  secret: string,
  body: string | Buffer,
  header: string | undefined | null,
): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/.test(header)) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
