import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboundLedger } from '../../src/core/access/index.js';
import type { Orm } from '../../src/db/orm.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';

/** The shared record of signed requests already acted on: what makes a replay run nothing. */
describe('inbound ledger', () => {
  let database: TestDatabase;
  let orm: Orm;
  let other: Orm;
  let ledger: InboundLedger;

  beforeAll(async () => {
    database = await createTestDatabase();
    orm = await openTestOrm(database);
    // A second connection pool stands for a second replica.
    other = await openTestOrm(database);
    ledger = new InboundLedger(orm);
  });
  afterAll(async () => {
    await orm?.close(true);
    await other?.close(true);
    await database?.drop();
  });

  it('says yes once per key, and yes again only once the window has passed', async () => {
    expect(await ledger.firstTime('test:a', 300)).toBe(true);
    expect(await ledger.firstTime('test:a', 300)).toBe(false);
    expect(await ledger.firstTime('test:b', 300)).toBe(true);
    await database.query(
      `update inbound_requests set expires_at = now() - interval '1 second' where key = 'test:a'`,
    );
    expect(await ledger.firstTime('test:a', 300)).toBe(true);
    expect(await ledger.firstTime('test:a', 300)).toBe(false);
  });

  it('gives exactly one yes when two replicas see the same request at once', async () => {
    const replicas = [ledger, new InboundLedger(other)];
    for (let round = 0; round < 20; round++) {
      const key = `test:race:${round}`;
      const answers = await Promise.all(
        replicas.flatMap((r) => [r.firstTime(key, 60), r.firstTime(key, 60)]),
      );
      expect(answers.filter(Boolean)).toHaveLength(1);
    }
  });

  it('prunes what is past its window and keeps the rest', async () => {
    await ledger.firstTime('test:old', 60);
    await ledger.firstTime('test:new', 60);
    await database.query(
      `update inbound_requests set expires_at = now() - interval '1 minute' where key = 'test:old'`,
    );
    expect(await ledger.prune()).toBeGreaterThanOrEqual(1);
    const keys = (await database.query<{ key: string }>(`select key from inbound_requests`)).map(
      (r) => r.key,
    );
    expect(keys).toContain('test:new');
    expect(keys).not.toContain('test:old');
  });
});
