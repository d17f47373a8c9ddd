import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOfPublicKeyLine } from '../../src/engine/fingerprint.js';
import { generateProjectKeyPair } from '../../src/engine/keys.js';
import { runCommand } from '../harness/run-command.js';

describe('generateProjectKeyPair', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-keys-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes an OpenSSH private key that ssh-keygen reads back to the same public key', async () => {
    const pair = generateProjectKeyPair('billing-api');
    expect(pair.privateKey).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=* slipway@billing-api$/);
    const keyPath = join(dir, 'id_ed25519');
    await writeFile(keyPath, pair.privateKey, { mode: 0o600 });
    const derived = (await runCommand('ssh-keygen', ['-y', '-f', keyPath])).trim();
    expect(derived.split(' ').slice(0, 2)).toEqual(pair.publicKey.split(' ').slice(0, 2));
  });

  it('reports the fingerprint ssh-keygen -l shows', async () => {
    const pair = generateProjectKeyPair('web');
    const pubPath = join(dir, 'web.pub');
    await writeFile(pubPath, `${pair.publicKey}\n`);
    const listed = await runCommand('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubPath]);
    expect(listed.split(' ')[1]).toBe(pair.fingerprint);
    expect(fingerprintOfPublicKeyLine(pair.publicKey)).toBe(pair.fingerprint);
  });

  it('is parsed by ssh2 as an ed25519 private key', () => {
    const parsed = ssh2.utils.parseKey(generateProjectKeyPair('x').privateKey);
    if (parsed instanceof Error) throw parsed;
    expect(Array.isArray(parsed) ? parsed[0]?.type : parsed.type).toBe('ssh-ed25519');
  });

  it('never hands out a key pair ssh2 cannot read (its generator strips a leading zero byte, 1 in 256)', () => {
    for (let i = 0; i < 1500; i++) {
      const pair = generateProjectKeyPair('many');
      for (const key of [pair.privateKey, pair.publicKey]) {
        const parsed = ssh2.utils.parseKey(key);
        expect(parsed instanceof Error ? parsed.message : 'ok', `key pair ${i}`).toBe('ok');
      }
    }
  });

  it('keeps the key comment to one harmless word', () => {
    expect(generateProjectKeyPair('my project; rm -rf /').publicKey.split(' ')[2]).toBe(
      'slipway@my-project-rm--rf',
    );
    expect(generateProjectKeyPair('   ').publicKey.endsWith(' slipway@project')).toBe(true);
  });

  it('generates a new key every time', () => {
    expect(generateProjectKeyPair('a').privateKey).not.toBe(generateProjectKeyPair('a').privateKey);
  });
});
