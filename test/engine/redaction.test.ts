import { describe, expect, it } from 'vitest';
import { BoundedOutput } from '../../src/engine/bounded-output.js';
import { buildRedactor, envFileSecretValues, REDACTED, Redactor } from '../../src/engine/redaction.js';

describe('envFileSecretValues', () => {
  it('reads plain, exported, quoted and multi-line values', () => {
    const values = envFileSecretValues(
      [
        '# comment',
        'APP_KEY=base64:abcdef',
        'export DB_PASSWORD="p@ss word"',
        "QUOTED='single'",
        'PEM="-----BEGIN-----',
        'MIIBOgIBAAJBAK',
        '-----END-----"',
        'EMPTY=',
        'LAST=tail-end',
      ].join('\n'),
    );
    expect(values).toEqual(
      expect.arrayContaining(['base64:abcdef', 'p@ss word', 'single', 'MIIBOgIBAAJBAK', 'tail-end']),
    );
    expect(values).not.toContain('# comment');
  });
});

describe('Redactor', () => {
  it('replaces every occurrence, longest secret first, and ignores values shorter than 3', () => {
    const redactor = new Redactor(['ab', 'secret', 'secret-longer']);
    expect(redactor.redact('x secret-longer y secret z ab')).toBe(`x ${REDACTED} y ${REDACTED} z ab`);
  });

  it('covers env values and the private key line by line', () => {
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAlineone\nBBBBlinetwo\n-----END OPENSSH PRIVATE KEY-----\n';
    const redactor = buildRedactor({
      envFile: 'TOKEN=tok_12345\n',
      privateKey: key,
      secrets: ['extra-secret'],
    });
    expect(redactor.redact('tok_12345 BBBBlinetwo extra-secret')).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
  });
});

describe('BoundedOutput', () => {
  it('keeps everything under the cap', () => {
    const output = new BoundedOutput(100);
    output.append('hello ');
    output.append('world');
    expect(output.render(new Redactor([])).output).toBe('hello world');
  });

  it('keeps head and tail over the cap and says how much was dropped', () => {
    const output = new BoundedOutput(20);
    output.append('HEAD-----');
    for (let i = 0; i < 100; i++) output.append('middle');
    output.append('-----TAIL');
    const { output: text, outputTail } = output.render(new Redactor([]));
    expect(text.startsWith('HEAD-----')).toBe(true);
    expect(text.endsWith('-----TAIL')).toBe(true);
    expect(text).toMatch(/characters omitted/);
    expect(text.length).toBeLessThan(100);
    expect(outputTail.endsWith('-----TAIL')).toBe(true);
  });

  it('does not leak the halves of a secret cut by truncation', () => {
    const secret = 'S3CR3T-VALUE-0123456789';
    const output = new BoundedOutput(64);
    output.append(`${'a'.repeat(20)}${secret}`);
    output.append('b'.repeat(500));
    output.append(`${secret}${'c'.repeat(10)}`);
    const { output: text } = output.render(new Redactor([secret]));
    // No piece of the secret (5 characters or more) survives anywhere.
    for (let i = 0; i + 5 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 5));
    expect(text).not.toContain('S3CR3T');
    expect(text).not.toContain('0123456789');
  });
});
