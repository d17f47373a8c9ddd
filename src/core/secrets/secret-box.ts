import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SlipwayError } from '../../errors.js';

/**
 * AES-256-GCM for secrets at rest (SSH private keys, environment files, channel secrets).
 *
 * Sealed format: `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts). The key id is derived
 * from the key itself, so a value sealed under an older key still opens after rotation as long
 * as that key is listed among the previous keys. `purpose` is bound as associated data: a
 * ciphertext copied from one column into another does not open.
 */
const VERSION = 'v1';
const IV_BYTES = 12;

export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentKeyId: string;

  constructor(currentKey: Buffer, previousKeys: Buffer[] = []) {
    for (const key of [currentKey, ...previousKeys]) {
      if (key.length !== 32) {
        throw new SlipwayError('crypto_failed', 'A secret key must be exactly 32 bytes.');
      }
      this.keys.set(SecretBox.keyId(key), key);
    }
    this.currentKeyId = SecretBox.keyId(currentKey);
  }

  static fromBase64(current: string, previous: string[] = []): SecretBox {
    return new SecretBox(
      Buffer.from(current, 'base64'),
      previous.map((key) => Buffer.from(key, 'base64')),
    );
  }

  static keyId(key: Buffer): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  seal(plaintext: string, purpose: string): string {
    const key = this.keys.get(this.currentKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(purpose));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.currentKeyId, b64(iv), b64(cipher.getAuthTag()), b64(ciphertext)].join('.');
  }

  open(sealed: string, purpose: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) {
      throw new SlipwayError('crypto_failed', 'A stored secret is not in a format this Slipway can read.');
    }
    const [, keyId, iv, tag, ciphertext] = parts as [string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (!key) {
      throw new SlipwayError(
        'crypto_failed',
        `A stored secret was encrypted with key ${keyId}, which is not configured. Add that key to SLIPWAY_PREVIOUS_SECRET_KEYS.`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(purpose));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch (error) {
      throw new SlipwayError(
        'crypto_failed',
        'A stored secret failed its integrity check (tampered, or the wrong key).',
        undefined,
        {
          cause: error,
        },
      );
    }
  }

  /** True when `sealed` was not written under the current key (re-seal it to finish a rotation). */
  needsRotation(sealed: string): boolean {
    return sealed.split('.')[1] !== this.currentKeyId;
  }
}

function b64(buffer: Buffer): string {
  return buffer.toString('base64url');
}
