import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/core/secrets/index.js';

const key = () => randomBytes(32);

describe('SecretBox', () => {
  it('round-trips and never stores the plaintext', () => {
    const box = new SecretBox(key());
    const sealed = box.seal('DB_PASSWORD=hunter2', 'project.env');
    expect(sealed).not.toContain('hunter2');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(box.open(sealed, 'project.env')).toBe('DB_PASSWORD=hunter2');
  });

  it('uses a fresh IV each time', () => {
    const box = new SecretBox(key());
    expect(box.seal('same', 'x')).not.toBe(box.seal('same', 'x'));
  });

  it('refuses a tampered ciphertext', () => {
    const box = new SecretBox(key());
    const parts = box.seal('secret value', 'project.env').split('.');
    const ciphertext = Buffer.from(parts[4]!, 'base64url');
    ciphertext[0]! ^= 1;
    parts[4] = ciphertext.toString('base64url');
    expect(() => box.open(parts.join('.'), 'project.env')).toThrow(/integrity check/);
  });

  it('refuses the wrong key, naming the key id it would need', () => {
    const sealed = new SecretBox(key()).seal('secret', 'p');
    expect(() => new SecretBox(key()).open(sealed, 'p')).toThrow(/not configured/);
  });

  it('refuses a ciphertext moved to another purpose', () => {
    const box = new SecretBox(key());
    expect(() => box.open(box.seal('secret', 'project.env'), 'project.ssh_key')).toThrow(/integrity check/);
  });

  it('opens values sealed under a previous key after rotation, and says they need re-sealing', () => {
    const oldKey = key();
    const sealed = new SecretBox(oldKey).seal('secret', 'p');
    const rotated = new SecretBox(key(), [oldKey]);
    expect(rotated.open(sealed, 'p')).toBe('secret');
    expect(rotated.needsRotation(sealed)).toBe(true);
    expect(rotated.needsRotation(rotated.seal('secret', 'p'))).toBe(false);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});
