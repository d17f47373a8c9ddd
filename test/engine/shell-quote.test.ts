import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/engine/shell-quote.js';
import { isSlipwayError } from '../../src/errors.js';

const NASTY = [
  '',
  'plain',
  "it's",
  "''",
  "'",
  '"double"',
  '$(id)',
  '`id`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must stay literal
  '$HOME ${PATH}',
  'a\\b\\\\c',
  'line one\nline two\n',
  'tab\there',
  'main;rm -rf /',
  '--upload-pack=x',
  '* ? [a-z] ~ !! #comment',
  '&& || | > < >> 2>&1',
  'mixed \'single\' and "double" and `back` and $(sub)',
  'ünïcødé ✓ 🚀',
  '\u0001\u001b[31mred\u001b[0m',
  ' leading and trailing spaces ',
  'x'.repeat(10_000),
];

describe('shellQuote', () => {
  it.each(NASTY.map((value) => [JSON.stringify(value).slice(0, 40), value]))(
    'round-trips %s through real bash and dash as one word',
    (_, value) => {
      const script = `printf '%s' ${shellQuote(value)}`;
      expect(execFileSync('bash', ['--norc', '--noprofile', '-c', script]).toString('utf8')).toBe(value);
      // Also as a script on stdin, which is how the engine sends scripts.
      expect(execFileSync('bash', ['--norc', '--noprofile', '-s'], { input: script }).toString('utf8')).toBe(
        value,
      );
      expect(execFileSync('sh', ['-c', script]).toString('utf8')).toBe(value);
    },
  );

  it('keeps a value one argument, however many spaces and quotes it has', () => {
    const value = 'a b \'c d\' "e f"';
    const count = execFileSync('bash', ['-c', `set -- ${shellQuote(value)}; echo $#`])
      .toString()
      .trim();
    expect(count).toBe('1');
  });

  it('refuses NUL bytes instead of truncating the value', () => {
    let error: unknown;
    try {
      shellQuote('safe\0; rm -rf /');
    } catch (caught) {
      error = caught;
    }
    expect(isSlipwayError(error, 'invalid_input')).toBe(true);
  });
});
