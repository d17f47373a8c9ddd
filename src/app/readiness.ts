import type { Orm } from '../db/orm.js';
import { pendingMigrations } from '../db/orm.js';

/** Why this Slipway cannot do work now (for `/readyz`), or null when it can. */
export function readiness(orm: Orm, isShuttingDown: () => boolean): () => Promise<string | null> {
  return async () => {
    if (isShuttingDown()) return 'shutting down';
    try {
      await orm.em.fork().getConnection().execute('select 1');
    } catch (error) {
      return `database unreachable: ${(error as Error).message}`;
    }
    const pending = await pendingMigrations(orm);
    return pending.length ? `migrations not applied: ${pending.join(', ')}` : null;
  };
}
