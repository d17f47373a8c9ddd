import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';

/** The server's log lines, parsed, from a real pino logger writing to memory. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, destination) };
}

describe("a request's logger (made only when something logs through it)", () => {
  it('logs an unexpected error with the request id and the redaction of every other log line', async () => {
    const { lines, logger } = capture();
    const app = createHttpServer({ logger, metrics: createMetrics() });
    app.get('/boom', async (request) => {
      request.log.info({ token: 'hb-secret-token', step: 'before' }, 'about to fail');
      throw new Error('disk on fire');
    });
    const response = await app.inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(500);
    expect(response.json().message).not.toContain('disk on fire');

    const before = lines.find((line) => line.msg === 'about to fail');
    const failure = lines.find((line) => line.msg === 'unhandled error');
    expect(before).toMatchObject({ component: 'http', step: 'before', token: '[redacted]' });
    expect(before?.reqId).toEqual(expect.any(String));
    expect(failure).toMatchObject({
      component: 'http',
      reqId: before?.reqId,
      err: { message: 'disk on fire' },
    });
    await app.close();
  });

  it('honours a route log level: a route at warn drops info lines, keeps warnings', async () => {
    const { lines, logger } = capture();
    const app = createHttpServer({ logger, metrics: createMetrics() });
    app.get('/quiet', { logLevel: 'warn' }, async (request) => {
      expect(request.log.level).toBe('warn');
      request.log.info('dropped');
      request.log.warn('kept');
      return 'ok';
    });
    expect((await app.inject({ method: 'GET', url: '/quiet' })).statusCode).toBe(200);
    expect(lines.map((line) => line.msg)).toEqual(['kept']);
    await app.close();
  });

  it('writes nothing for requests that log nothing, and still counts them', async () => {
    const { lines, logger } = capture();
    const metrics = createMetrics();
    const app = createHttpServer({ logger, metrics });
    app.get('/ping', async () => 'ok');
    for (let i = 0; i < 3; i++)
      expect((await app.inject({ method: 'GET', url: '/ping' })).statusCode).toBe(200);
    expect(lines).toEqual([]);
    const counted = await metrics.registry.getSingleMetricAsString('slipway_http_requests_total');
    expect(counted).toContain('slipway_http_requests_total{method="GET",route="/ping",status="200"} 3');
    await app.close();
  });
});
