import type { FastifyInstance } from 'fastify';

/**
 * `/healthz`: the process answers. `/readyz`: it can do work — `notReady` says why not (the
 * database does not answer, migrations are missing, shutting down) or null. A load balancer
 * sends traffic only on ready; an orchestrator restarts on not alive.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  notReady: () => Promise<string | null>,
  /** More to show (each chat adapter's standing): shown, never a reason to be unready. */
  details: () => Record<string, unknown> = () => ({}),
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const reason = await notReady();
    if (reason) return reply.code(503).send({ status: 'unavailable', reason, ...details() });
    return { status: 'ready', ...details() };
  });
}
