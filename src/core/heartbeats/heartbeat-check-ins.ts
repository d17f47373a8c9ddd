import type { Orm } from '../../db/orm.js';

/** Check-ins written by one statement, at most. */
const MAX_BATCH = 500;
/**
 * Statements in flight at once, at most: beyond that, check-ins gather for the next statement
 * instead of each turn of the event loop sending its own (at thousands a second, fewer and
 * larger statements, fewer commits to wait for). Not one: with a million heartbeats a statement
 * waits on PostgreSQL's reads and index writes, and four at once keep both cores busy
 * (bench:heartbeats, 1,000,000 heartbeats: 7,149 check-ins/s answered with four, 3,689 with one).
 */
const MAX_IN_FLIGHT = 4;

interface Waiter {
  resolve(id: string | null): void;
  reject(error: unknown): void;
}

/**
 * The common check-in — an interval heartbeat that is not missing — as one UPDATE shared by every
 * check-in that arrives in the same turn of the event loop. A burst of pings (every cron job of a
 * fleet firing at :00) costs a few statements instead of one per ping; a lone ping waits for no
 * timer, only for the current turn to end. Resolves with the heartbeat's id, or null when the
 * token needs the full path (cron schedule, missing, unknown, or held by another writer).
 */
export class HeartbeatCheckIns {
  private pending = new Map<string, Waiter[]>();
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly orm: Orm) {}

  record(token: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(token) ?? [];
      waiters.push({ resolve, reject });
      this.pending.set(token, waiters);
      if (this.pending.size >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (!this.pending.size) return;
    if (this.inFlight >= MAX_IN_FLIGHT && this.pending.size < MAX_BATCH) return; // sent when one returns
    const batch = this.pending;
    this.pending = new Map();
    this.inFlight++;
    const written = this.write([...batch.keys()]).finally(() => {
      this.inFlight--;
      if (this.pending.size && !this.scheduled) this.flush();
    });
    written.then(
      (found) => {
        for (const [token, waiters] of batch)
          for (const waiter of waiters) waiter.resolve(found.get(token) ?? null);
      },
      (error: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  }

  private async write(tokens: string[]): Promise<Map<string, string>> {
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string; token: string }[]>(
        // A row another transaction holds (the sweep moving it to missing, another batch) is
        // skipped: its check-in takes the full path, which waits for that row alone and then sees
        // what became of it, instead of the whole batch waiting behind the sweep. Never waiting,
        // the batch cannot deadlock, so its rows need no lock order. The update finds each row
        // by the ctid of the version it locked (which no one can replace before this commits),
        // not by a second descent of the primary key: 28% of the statement's page reads at a
        // million heartbeats (EXPLAIN (ANALYZE, BUFFERS), 40 tokens: 160 of 578 buffers).
        `with locked as (
           select h.ctid from heartbeats h
            where h.token in (select value from jsonb_array_elements_text(?::jsonb))
              and h.cron is null and h.status <> 'missing'
              for update skip locked
         )
         update heartbeats h
            set status = 'healthy', last_check_in_at = now(), updated_at = now(),
                next_due_at = now() + make_interval(mins => h.interval_minutes + h.grace_minutes)
           from locked
          where h.ctid = locked.ctid
          returning h.id, h.token`,
        [JSON.stringify(tokens)],
      );
    return new Map(rows.map((row) => [row.token, row.id]));
  }
}
