import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { isSlipwayError, type SlipwayErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { DeferredRequestLogger } from './deferred-request-logger.js';
import type { Metrics } from './metrics.js';

export const STATUS_BY_CODE: Partial<Record<SlipwayErrorCode, number>> = {
  not_found: 404,
  refused: 400,
  invalid_input: 422,
  unsafe_ref: 422,
  forbidden: 403,
  conflict: 409,
  environment_busy: 409,
  environment_locked: 409,
  duplicate_approval: 409,
  database_unavailable: 503,
};

/**
 * The one HTTP server: REST API, chat platform endpoints, webhooks, heartbeat pings, health
 * and metrics are all routes on it. Errors leave as JSON with the user-facing message; an
 * unexpected error is logged in full and answered with a generic 500.
 */
export function createHttpServer(options: { logger: Logger; metrics: Metrics }): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown the log (heartbeat pings, health probes); metrics count them.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, options) => new DeferredRequestLogger(logger, bindings, options),
    bodyLimit: 1024 * 1024,
    trustProxy: true,
  });

  // A callback hook, not an async one: no promise per request for two counter updates.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    options.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    if (isSlipwayError(error)) {
      return reply
        .code(STATUS_BY_CODE[error.code] ?? 400)
        .send({ error: error.code, message: error.message });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'bad_request', message: (error as Error).message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply
      .code(500)
      .send({ error: 'internal', message: 'Something went wrong on our side; it has been logged.' });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });

  return app;
}
