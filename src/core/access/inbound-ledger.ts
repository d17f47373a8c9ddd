import type { Orm } from '../../db/orm.js';

/**
 * The requests Slipway has acted on, so that each signed inbound request runs once: a Slack
 * request replayed within its 5-minute signature window, a platform's retry of the same
 * interaction or event, a GitHub redelivery. Shared by the replicas through PostgreSQL: the first
 * to record a key acts, every other one (and every later copy) does nothing.
 */
export class InboundLedger {
  constructor(private readonly orm: Orm) {}

  /**
   * True the first time `key` is seen within `ttlSeconds` (one atomic statement: two replicas
   * receiving the same request at once cannot both get true).
   */
  async firstTime(key: string, ttlSeconds: number): Promise<boolean> {
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ key: string }[]>(
        `insert into inbound_requests (key, expires_at) values (?, now() + make_interval(secs => ?))
         on conflict (key) do update set received_at = now(), expires_at = excluded.expires_at
           where inbound_requests.expires_at < now()
         returning key`,
        [key.slice(0, 200), ttlSeconds],
      );
    return rows.length > 0;
  }

  /**
   * Keeps `key` for `ttlSeconds` from now. For requests claimed with a short window while they
   * are worked on (a process that dies mid-work does not block a retry for long) and kept for
   * the sender's whole redelivery window once done.
   */
  async keep(key: string, ttlSeconds: number): Promise<void> {
    await this.orm.em
      .fork()
      .getConnection()
      .execute(`update inbound_requests set expires_at = now() + make_interval(secs => ?) where key = ?`, [
        ttlSeconds,
        key.slice(0, 200),
      ]);
  }

  /** Forgets `key` now: the work it stood for failed, and the sender's retry must run it again. */
  async forget(key: string): Promise<void> {
    await this.orm.em
      .fork()
      .getConnection()
      .execute(`delete from inbound_requests where key = ?`, [key.slice(0, 200)]);
  }

  /** Forgets keys whose window has passed (a schedule calls this). */
  async prune(): Promise<number> {
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ key: string }[]>(`delete from inbound_requests where expires_at < now() returning key`);
    return rows.length;
  }
}
