import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, describeDatabaseUrl } from '../../src/logger.js';

describe('logger', () => {
  it('redacts secrets at known paths, top level and one level down', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, sink);
    logger.info(
      {
        token: 'tok-123',
        project: { sshPrivateKey: 'PRIVATE', envFile: 'A=1', name: 'api' },
        headers: { authorization: 'Bearer x' },
      },
      'hello',
    );
    const line = lines.join('');
    for (const secret of ['tok-123', 'PRIVATE', 'A=1', 'Bearer x']) expect(line).not.toContain(secret);
    expect(line).toContain('"name":"api"');
    expect(line).toContain('[redacted]');
  });

  it('hides the password of a database URL', () => {
    expect(describeDatabaseUrl('postgres://slipway:s3cret@db:5432/slipway')).toBe(
      'postgres://slipway:***@db:5432/slipway',
    );
  });
});
