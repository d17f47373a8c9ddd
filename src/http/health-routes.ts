import type { FastifyInstance } from 'fastify';
import { type Orm, pendingMigrations } from '../db/orm.js';

/**
 * `/healthz`: the process answers. `/readyz`: it can do work — the database answers and its
 * schema is current. A load balancer sends traffic only on ready; an orchestrator restarts on
 * not alive.
 */
export function registerHealthRoutes(app: FastifyInstance, orm: Orm, isShuttingDown: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (isShuttingDown()) return reply.code(503).send({ status: 'unavailable', reason: 'shutting down' });
    try {
      await orm.em.fork().getConnection().execute('select 1');
    } catch (error) {
      return reply
        .code(503)
        .send({ status: 'unavailable', reason: `database unreachable: ${(error as Error).message}` });
    }
    const pending = await pendingMigrations(orm);
    if (pending.length > 0) {
      return reply
        .code(503)
        .send({ status: 'unavailable', reason: `migrations not applied: ${pending.join(', ')}` });
    }
    return { status: 'ready' };
  });
}
