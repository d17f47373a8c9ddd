import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type Orm, openOrm } from '../../src/db/orm.js';
import { withDatabase } from './global-setup.js';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs SQL as the admin on this database (for assertions and for setting up odd states). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test file's own. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const template = inject('templateDatabase');
  const name = `slipway_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(
      options.empty ? `create database ${name}` : `create database ${name} template ${template}`,
    );
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    name,
    url,
    query: async (sql, params) => (await pool.query(sql, params as unknown[])).rows,
    drop: async () => {
      await pool.end();
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      // Pools closed a moment ago may still be saying goodbye: a forced drop cuts those connections
      // mid-way, and the error surfaces as an uncaught exception in this process. Give them 1 s.
      for (let wait = 0; wait < 20; wait++) {
        const { rows } = await client.query<{ n: number }>(
          'select count(*)::int as n from pg_stat_activity where datname = $1',
          [name],
        );
        if (!rows[0]?.n) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export async function openTestOrm(database: TestDatabase): Promise<Orm> {
  return openOrm(database.url, { poolMax: 4 });
}

/**
 * Another session, holding what `sql` locks inside an open transaction until `release()`: a slow
 * writer (the sweep, a replica) as the code under test meets it. `release()` may be called twice.
 */
export async function holdLock(database: TestDatabase, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('begin');
  await client.query(sql, params);
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= client
        .query('rollback')
        .then(() => undefined)
        .finally(() => client.end())),
  };
}
