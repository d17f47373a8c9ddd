import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CheckInOutcome, HeartbeatService } from '../core/heartbeats/index.js';

/** A failure report's body: enough for the last lines of a job's output, never more. */
const BODY_LIMIT = 64 * 1024;

type Params = { token: string };

/**
 * The ping URLs a crontab's `curl` hits: `GET|POST /heartbeats/<token>` (success) and
 * `GET|POST /heartbeats/<token>/fail` (the job failed; a POST body, e.g. its output, goes into
 * the alert). 200 when recorded, 404 for an unknown token (nothing changes). The token is the
 * credential; no other authentication, no HEAD (a link checker must not check in), no caching.
 */
export function registerHeartbeatRoutes(app: FastifyInstance, heartbeats: HeartbeatService): void {
  app.register(async (scope) => {
    // Cron jobs send whatever curl sends (form-encoded, text, JSON, nothing): read it all as text.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );

    const answer = (reply: FastifyReply, outcome: CheckInOutcome) => {
      reply.header('cache-control', 'no-store').type('text/plain; charset=utf-8');
      return outcome.found
        ? reply.code(200).send('OK\n')
        : reply.code(404).send('Not found: no heartbeat has this token.\n');
    };
    const checkIn = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) =>
      answer(reply, await heartbeats.checkIn(request.params.token));
    const fail = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) =>
      answer(
        reply,
        await heartbeats.fail(request.params.token, typeof request.body === 'string' ? request.body : null),
      );

    for (const method of ['GET', 'POST'] as const) {
      scope.route<{ Params: Params }>({
        method,
        url: '/heartbeats/:token',
        exposeHeadRoute: false,
        handler: checkIn,
      });
      scope.route<{ Params: Params }>({
        method,
        url: '/heartbeats/:token/fail',
        exposeHeadRoute: false,
        handler: fail,
      });
    }
  });
}
