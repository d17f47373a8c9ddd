import ssh2 from 'ssh2';
import { fingerprintOfPublicKeyLine } from './fingerprint.js';

export interface ProjectKeyPair {
  /** OpenSSH-format private key (`-----BEGIN OPENSSH PRIVATE KEY-----`), unencrypted. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… slipway@<project>`, to put in the servers' authorized_keys. */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -lf` shows it. */
  fingerprint: string;
}

/** Key comments end up in authorized_keys lines; keep them to one harmless word. */
function keyComment(project: string): string {
  const cleaned = project.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return `slipway@${cleaned || 'project'}`;
}

/** ssh2 1.17's generator strips leading zero bytes of an ed25519 public key (mscdex/ssh2#1513): 1 pair in 256 is unreadable. */
const MAX_ATTEMPTS = 16;

function readable(pair: { private: string; public: string }): boolean {
  return (
    !(ssh2.utils.parseKey(pair.private) instanceof Error) &&
    !(ssh2.utils.parseKey(pair.public) instanceof Error)
  );
}

/**
 * A fresh ed25519 key pair for a project. ssh2's generator writes the openssh-key-v1 format
 * (no cipher) that both ssh2 and `ssh -i` read, so we do not hand-encode it; a pair it wrote
 * wrong (see MAX_ATTEMPTS) is thrown away and another made. The caller encrypts the private key
 * before it is stored.
 */
export function generateProjectKeyPair(project: string): ProjectKeyPair {
  let pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: keyComment(project) });
  for (let attempt = 1; !readable(pair); attempt++) {
    if (attempt >= MAX_ATTEMPTS) throw new Error('could not generate a readable ed25519 key pair');
    pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: keyComment(project) });
  }
  return {
    privateKey: pair.private,
    publicKey: pair.public,
    fingerprint: fingerprintOfPublicKeyLine(pair.public),
  };
}
