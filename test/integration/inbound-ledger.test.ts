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

  it('keeps a claimed key for a longer window once done, and forgets one whose work failed', async () => {
    // Claimed for the work's short window, kept for the redelivery window once it is done.
    expect(await ledger.firstTime('test:kept', 60)).toBe(true);
    await ledger.keep('test:kept', 7 * 24 * 3600);
    const [row] = await database.query<{ days: number }>(
      `select extract(epoch from expires_at - now()) / 86400 as days from inbound_requests where key = 'test:kept'`,
    );
    expect(Number(row?.days)).toBeGreaterThan(6.9);
    expect(await ledger.firstTime('test:kept', 60)).toBe(false);
    // The work failed: the sender's retry must run it again, on any replica.
    expect(await ledger.firstTime('test:failed', 60)).toBe(true);
    await ledger.forget('test:failed');
    expect(await new InboundLedger(other).firstTime('test:failed', 60)).toBe(true);
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
