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

/**
 * A fresh ed25519 key pair for a project. ssh2's generator writes the openssh-key-v1 format
 * (no cipher) that both ssh2 and `ssh -i` read, so we do not hand-encode it. The caller
 * encrypts the private key before it is stored.
 */
export function generateProjectKeyPair(project: string): ProjectKeyPair {
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: keyComment(project) });
  return {
    privateKey: pair.private,
    publicKey: pair.public,
    fingerprint: fingerprintOfPublicKeyLine(pair.public),
  };
}
