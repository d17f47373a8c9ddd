import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, MikroORM } from '@mikro-orm/postgresql';
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

export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((migration) => migration.name);
}

/** Names of the migrations not yet applied. */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  return (await orm.migrator.getPending()).map((migration) => migration.name);
}

/** True when the entities and the database schema differ (a migration is missing). */
export async function schemaDrifts(orm: Orm): Promise<boolean> {
  return orm.migrator.checkSchema();
}
