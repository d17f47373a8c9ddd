import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { migrate, type Orm, pendingMigrations, schemaDrifts } from '../../src/db/orm.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';

describe('migrations', () => {
  let database: TestDatabase;
  let orm: Orm;

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    orm = await openTestOrm(database);
  });
  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
  });

  it('apply to an empty database, leave nothing pending and no drift', async () => {
    expect(await pendingMigrations(orm)).toEqual(MIGRATIONS.map((migration) => migration.name));
    const applied = await migrate(orm);
    expect(applied).toEqual(MIGRATIONS.map((migration) => migration.name));
    expect(await pendingMigrations(orm)).toEqual([]);
    expect(await schemaDrifts(orm)).toBe(false);
  });

  it('are idempotent: a second run applies nothing', async () => {
    expect(await migrate(orm)).toEqual([]);
  });

  it('notice drift when the schema differs from the entities', async () => {
    await database.query('alter table projects drop column health_check_url');
    expect(await schemaDrifts(orm)).toBe(true);
    await database.query('alter table projects add column health_check_url text null');
    expect(await schemaDrifts(orm)).toBe(false);
  });

  it('create the partial unique index that holds the run slot', async () => {
    const rows = await database.query<{ indexdef: string }>(
      "select indexdef from pg_indexes where indexname = 'deployments_one_active_per_environment'",
    );
    expect(rows[0]?.indexdef).toMatch(/UNIQUE INDEX .* \(environment_id\) WHERE \(status = ANY/);
  });
});

describe('migrations started by three processes at once', () => {
  let database: TestDatabase;
  const orms: Orm[] = [];

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    for (let i = 0; i < 3; i++) orms.push(await openTestOrm(database));
  });
  afterAll(async () => {
    for (const orm of orms) await orm.close(true);
    await database?.drop();
  });

  it('take turns under an advisory lock: one applies them, the others wait and find nothing to do', async () => {
    const results = await Promise.allSettled(orms.map((orm) => migrate(orm)));
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const applied = results.map((result) => (result as PromiseFulfilledResult<string[]>).value);
    expect(applied.filter((names) => names.length > 0)).toEqual([
      MIGRATIONS.map((migration) => migration.name),
    ]);
    expect(applied.filter((names) => names.length === 0)).toHaveLength(2);
    expect(await pendingMigrations(orms[0]!)).toEqual([]);
  });
});
