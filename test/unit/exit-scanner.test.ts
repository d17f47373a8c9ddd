import { describe, expect, it } from 'vitest';
import { ExitScanner } from '../../src/engine/transport/ssh-shell-session.js';

const TOKEN = '::slipway-exit-0123456789abcdef01234567';

/** Feeds `text` to a scanner in pieces of `size` bytes; what came through, and the exit code. */
function scan(text: string, size: number) {
  const scanner = new ExitScanner(TOKEN);
  const bytes = Buffer.from(text);
  let out = '';
  let exitCode: number | null = null;
  for (let at = 0; at < bytes.length && exitCode === null; at += size) {
    const result = scanner.push(bytes.subarray(at, at + size));
    out += result.text.toString();
    exitCode = result.exitCode;
  }
  return { out, exitCode };
}

describe('ExitScanner', () => {
  it('finds the exit code wherever the chunks split the token, and passes the output before it', () => {
    const output = 'line one\n::slipway-abc start 0\nno newline at the end';
    for (const size of [1, 2, 3, 7, 16, 40, 1000]) {
      expect(scan(`${output}${TOKEN} 42\n`, size)).toEqual({ out: output, exitCode: 42 });
    }
  });

  it('holds back only what could still become the token', () => {
    const scanner = new ExitScanner(TOKEN);
    // A step marker's line ends in a newline: it passes at once, nothing is held.
    expect(scanner.push(Buffer.from('\n::slipway-abc end 0 0\n')).text.toString()).toBe(
      '\n::slipway-abc end 0 0\n',
    );
    // The first bytes of the token wait for the next chunk; they were not the token after all.
    expect(scanner.push(Buffer.from('done ::slipway-ex')).text.toString()).toBe('done ');
    expect(scanner.push(Buffer.from('it-other 0\n')).text.toString()).toBe('::slipway-exit-other 0\n');
  });

  it('ignores a token of another script', () => {
    expect(scan('::slipway-exit-ffffffffffffffffffffffff 0\nrest', 5)).toEqual({
      out: '::slipway-exit-ffffffffffffffffffffffff 0\nrest',
      exitCode: null,
    });
  });
});
