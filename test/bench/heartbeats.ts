/**
 * Heartbeat benchmark. With 10,000 and then 100,000 heartbeats in PostgreSQL, times one sweep
 * with 0 due and with 1,000 due (the sweep moves them to `missing` and writes 1,000 alerts to
 * the outbox, in one transaction), and 1,000 concurrent check-ins over HTTP against the real
 * route and service, compared with 1,000 concurrent requests to a route that does nothing (the
 * floor: HTTP and fetch alone). The sweep's cost should follow the number due, not the total.
 *
 * Run: npm run bench:heartbeats   (BENCH_DATABASE_URL=postgres://… to choose the server;
 * default: the PostgreSQL at 127.0.0.1:5432, where a scratch database is created and dropped)
 * The last line reads: sweep total=100000 due=1000 ms=<ms>
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { HeartbeatService, HeartbeatSweep } from '../../src/core/heartbeats/index.js';
import { NotificationOutbox } from '../../src/core/notifications/index.js';
import { migrate, openOrm } from '../../src/db/orm.js';
import { registerHeartbeatRoutes } from '../../src/http/heartbeat-routes.js';
import { createMetrics } from '../../src/http/metrics.js';
import { createHttpServer } from '../../src/http/server.js';
import { NotificationQueue } from '../../src/jobs/notification-queue.js';
import { startJobQueue, stopJobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/logger.js';

const DUE = 1000;
const CHECK_INS = 1000;
const SWEEP_REPS = Number(process.env.BENCH_REPS ?? 7);
const silent = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const ms = (value: number) => value.toFixed(1);

async function main() {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `slipway_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  // Dropping the database at the end ends idle connections; nothing to report.
  db.on('error', () => undefined);
  const orm = await openOrm(databaseUrl, { poolMax: 10 });
  const boss = await startJobQueue(databaseUrl, silent);
  try {
    await migrate(orm);
    const queue = new NotificationQueue(boss);
    await queue.setup();
    const outbox = new NotificationOutbox(queue);
    const sweep = new HeartbeatSweep(orm, outbox, silent);
    const heartbeats = new HeartbeatService(orm, outbox, { publicUrl: 'http://bench' });
    const [{ id: projectId }] = (
      await db.query<{ id: string }>(
        `insert into projects (id, name, repository, ssh_private_key, ssh_public_key)
         values (gen_random_uuid(), 'bench', 'https://example.invalid/bench.git', 'sealed', 'ssh-ed25519 AAAA')
         returning id`,
      )
    ).rows as [{ id: string }];

    /** Adds heartbeats up to `total`, all healthy and due in the next hours (none due now). */
    const fill = async (from: number, total: number) => {
      await db.query(
        `insert into heartbeats (id, project_id, name, token, interval_minutes, grace_minutes, status,
                                 last_check_in_at, next_due_at, created_at, updated_at)
         select gen_random_uuid(), $1, 'hb-' || i, rtrim(translate(encode(sha256(('bench-' || i)::bytea), 'base64'), '+/', '-_'), '=') ,
                10, 5, 'healthy', now(), now() + interval '1 hour' + (i % 3600) * interval '1 second', now(), now()
           from generate_series($2::int, $3::int - 1) as i`,
        [projectId, from, total],
      );
      await db.query('vacuum analyze heartbeats');
    };
    const makeDue = async () => {
      await db.query(
        `update heartbeats set next_due_at = now() - interval '1 minute'
          where id in (select id from heartbeats where status = 'healthy' order by random() limit $1)`,
        [DUE],
      );
    };
    const reset = async () => {
      await db.query(
        `update heartbeats set status = 'healthy', missing_since = null,
                next_due_at = now() + interval '1 hour' where status = 'missing'`,
      );
      await db.query('delete from notification_events');
      await db.query('vacuum analyze heartbeats');
    };
    const timeSweep = async () => {
      const started = performance.now();
      const result = await sweep.run();
      return { elapsed: performance.now() - started, result };
    };

    const measure = async (total: number) => {
      await timeSweep(); // warm: connections, plans
      const idle: number[] = [];
      for (let i = 0; i < SWEEP_REPS; i++) idle.push((await timeSweep()).elapsed);
      const busy: number[] = [];
      for (let i = 0; i < SWEEP_REPS; i++) {
        await makeDue();
        const { elapsed, result } = await timeSweep();
        if (result.alerted !== DUE) throw new Error(`expected ${DUE} alerts, got ${result.alerted}`);
        busy.push(elapsed);
        await reset();
      }
      const events = await db.query('select count(*)::int as n from notification_events');
      if (events.rows[0].n !== 0) throw new Error('events left behind');
      process.stdout.write(
        `sweep total=${total} due=0 ms=${ms(median(idle))} (min ${ms(Math.min(...idle))}, max ${ms(Math.max(...idle))}, ${SWEEP_REPS} runs)\n`,
      );
      process.stdout.write(
        `sweep total=${total} due=${DUE} ms=${ms(median(busy))} (min ${ms(Math.min(...busy))}, max ${ms(Math.max(...busy))}; 1,000 moved + 1,000 outbox rows in one transaction)\n`,
      );
      return median(busy);
    };

    await fill(0, 10_000);
    await measure(10_000);
    await fill(10_000, 100_000);
    const plan = await db.query(
      `explain select id from heartbeats where next_due_at < now() and status <> 'missing'
        order by next_due_at limit 1000 for update skip locked`,
    );
    process.stdout.write(
      `plan of the due scan: ${String(plan.rows.map((r) => r['QUERY PLAN']).join(' | ')).replace(/\s+/g, ' ')}\n`,
    );
    const hundredK = await measure(100_000);

    // 1,000 concurrent check-ins through the real route, against the floor of HTTP itself.
    const http = createHttpServer({ logger: silent, metrics: createMetrics() });
    registerHeartbeatRoutes(http, heartbeats);
    http.post('/floor/:token', async () => 'OK\n');
    await http.listen({ host: '127.0.0.1', port: 0 });
    const address = http.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const tokens = (
      await db.query<{ token: string }>(`select token from heartbeats order by random() limit ${CHECK_INS}`)
    ).rows.map((r) => r.token);
    const burst = async (path: (token: string) => string) => {
      const latencies: number[] = [];
      const started = performance.now();
      const statuses = await Promise.all(
        tokens.map(async (token) => {
          const t0 = performance.now();
          const response = await fetch(`${base}${path(token)}`, { method: 'POST' });
          await response.text();
          latencies.push(performance.now() - t0);
          return response.status;
        }),
      );
      const total = performance.now() - started;
      if (statuses.some((status) => status !== 200))
        throw new Error(`non-200 answers: ${[...new Set(statuses)]}`);
      return { total, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    };
    await burst((token) => `/floor/${token}`); // warm sockets and routes
    await burst((token) => `/heartbeats/${token}`);
    // Alternating rounds, medians: the machine is shared, one round can be unlucky.
    const floors: Awaited<ReturnType<typeof burst>>[] = [];
    const rounds: Awaited<ReturnType<typeof burst>>[] = [];
    for (let i = 0; i < 5; i++) {
      floors.push(await burst((token) => `/floor/${token}`));
      const since = new Date();
      rounds.push(await burst((token) => `/heartbeats/${token}`));
      const recorded = await db.query(
        `select count(*)::int as n from heartbeats where last_check_in_at >= $1`,
        [since],
      );
      if (recorded.rows[0].n !== CHECK_INS)
        throw new Error(`expected ${CHECK_INS} check-ins, got ${recorded.rows[0].n}`);
    }
    await http.close();
    const pick = (list: typeof rounds, key: 'total' | 'p50' | 'p99') => median(list.map((r) => r[key]));
    const checkInTotal = pick(rounds, 'total');
    const floorTotal = pick(floors, 'total');
    process.stdout.write(
      `check-ins concurrent=${CHECK_INS} total=${ms(checkInTotal)}ms p50=${ms(pick(rounds, 'p50'))}ms p99=${ms(pick(rounds, 'p99'))}ms ` +
        `(${Math.round((CHECK_INS / checkInTotal) * 1000)}/s); floor (same requests, a route doing nothing) total=${ms(floorTotal)}ms ` +
        `p50=${ms(pick(floors, 'p50'))}ms p99=${ms(pick(floors, 'p99'))}ms; ratio=${(checkInTotal / floorTotal).toFixed(2)} (medians of 5 rounds)\n`,
    );
    process.stdout.write(`sweep total=100000 due=${DUE} ms=${ms(hundredK)}\n`);
  } finally {
    await stopJobQueue(boss, 2000).catch(() => undefined);
    await orm.close(true);
    await db.end();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
