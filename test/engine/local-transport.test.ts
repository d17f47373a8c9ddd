import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/engine/transport/local-transport.js';

describe('LocalTransport', () => {
  it('returns stdout and stderr in the order the script wrote them, syntax errors included', async () => {
    const t = new LocalTransport({ label: 'local' });
    try {
      // Two pipes read by the event loop would hand the lines over in whatever order they were read.
      for (let i = 0; i < 20; i++) {
        const { exitCode, output } = await t.exec(
          `echo "one ${i}" >&2; echo "two ${i}"; echo "three ${i}" >&2; echo "four ${i}"; exit 4`,
        );
        expect(exitCode).toBe(4);
        expect(output).toBe(`one ${i}\ntwo ${i}\nthree ${i}\nfour ${i}\n`);
      }
      const broken = await t.exec('echo ran; if true; then');
      expect(broken.exitCode).not.toBe(0);
      expect(broken.output).toMatch(/syntax error/);
      expect(broken.output).not.toContain('ran');
    } finally {
      await t.close();
    }
  });
});
