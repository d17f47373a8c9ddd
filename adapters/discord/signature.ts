import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** How old (or how far ahead) a signed request may be: Slack's window, which Discord leaves to us. */
export const DISCORD_SIGNATURE_WINDOW_SECONDS = 5 * 60;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** The application's public key (64 hex characters, from the Developer Portal) as a key object, once. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('a Discord public key is 64 hex characters');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') },
    format: 'jwk',
  });
}

/**
 * Discord's interaction signature: `X-Signature-Ed25519` is the hex Ed25519 signature of
 * `X-Signature-Timestamp` followed by the raw body, made with the application's key. Discord's
 * own check ends there; we also refuse timestamps more than five minutes from now, so a captured
 * request cannot be replayed later (within the window the interaction id catches replays).
 */
export function verifyDiscordSignature(
  publicKey: KeyObject,
  headers: { signature: string | undefined; timestamp: string | undefined },
  rawBody: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) return { ok: false, reason: 'missing signature headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
  if (Math.abs(nowSeconds - Number(timestamp)) > DISCORD_SIGNATURE_WINDOW_SECONDS) {
    return { ok: false, reason: 'stale timestamp' };
  }
  if (!/^[0-9a-fA-F]{128}$/.test(signature)) return { ok: false, reason: 'malformed signature' };
  const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]);
  return verify(null, signed, publicKey, Buffer.from(signature, 'hex'))
    ? { ok: true }
    : { ok: false, reason: 'signature mismatch' };
}
