import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { MIGRATIONS } from '../../migrations/index.js';
import { ENTITIES } from './entities/index.js';

export type Orm = MikroORM;

export function ormConfig(url: string, options: { poolMax?: number } = {}) {
  return defineConfig({
    clientUrl: url,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: { min: 0, max: options.poolMax ?? 10 },
    // The request context is explicit (em.fork()) everywhere; the global EM is never used for work.
    allowGlobalContext: false,
    migrations: {
      migrationsList: MIGRATIONS,
      path: 'migrations',
      tableName: 'mikro_orm_migrations',
      // Diff against the live database, not a snapshot file, so the check sees real drift.
      snapshot: false,
      emit: 'ts',
      silent: true,
    },
  });
}

export async function openOrm(url: string, options: { poolMax?: number } = {}): Promise<Orm> {
  return MikroORM.init(ormConfig(url, options));
}

/** Advisory-lock key of "migrations are being applied" (any 64-bit number no other lock uses). */
const MIGRATION_LOCK = 0x51_1b_07_6d_69_67;

/**
 * Applies pending migrations under a PostgreSQL advisory lock held on a connection of its own:
 * replicas that start together take turns, and those that come second find nothing to do
 * (without it, two CREATE TYPE/TABLE of the same name collide in pg_type).
 */
export async function migrate(orm: Orm): Promise<string[]> {
  const lock = new pg.Client({
    connectionString: orm.config.get('clientUrl'),
    application_name: 'slipway-migrate',
  });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await orm.migrator.up();
    return applied.map((migration) => migration.name);
  } finally {
    // Ending the session frees the lock, whatever happened above.
    await lock.end().catch(() => undefined);
  }
}

/** Names of the migrations not yet applied. */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  return (await orm.migrator.getPending()).map((migration) => migration.name);
}

/** True when the entities and the database schema differ (a migration is missing). */
export async function schemaDrifts(orm: Orm): Promise<boolean> {
  return orm.migrator.checkSchema();
}
