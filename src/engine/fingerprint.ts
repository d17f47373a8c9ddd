import { createHash } from 'node:crypto';
import { SlipwayError } from '../errors.js';

/**
 * OpenSSH's fingerprint of a public key blob: `SHA256:` + unpadded base64 of its SHA-256.
 * This is the string `ssh-keygen -lf` prints and what people compare, so pins use it too.
 */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Fingerprint of an `ssh-ed25519 AAAA… comment` public key line. */
export function fingerprintOfPublicKeyLine(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) {
    throw new SlipwayError(
      'invalid_input',
      'That is not an OpenSSH public key line ("<type> <base64> [comment]").',
    );
  }
  return sha256Fingerprint(Buffer.from(blob, 'base64'));
}
