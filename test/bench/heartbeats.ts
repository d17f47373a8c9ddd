/**
 * Heartbeat benchmark, at a million. With 1,000,000 heartbeats in PostgreSQL:
 *
 * 1. the sweep with 0 and with 10,000 due (each moved to `missing` with its alert written to the
 *    outbox in the same transaction), timed in this process on the product's HeartbeatSweep;
 * 2. 10,000 check-ins per second for 30 s against the running service (`slipway start` in a
 *    child process, its sweep every 5 s, 1,000 heartbeats made due every 10 s meanwhile), over
 *    keep-alive HTTP to 127.0.0.1 only: the rate answered and the latency percentiles.
 *
 * Run: npm run bench:heartbeats   (BENCH_DATABASE_URL=postgres://… to choose the server;
 * default: the PostgreSQL at 127.0.0.1:5432, where a scratch database is created and dropped;
 * BENCH_TOTAL, BENCH_DUE, BENCH_LOAD_DUE, BENCH_RATE, BENCH_SECONDS to scale it;
 * BENCH_CPU_PROF=<dir> to profile the service)
 * The last line reads: sweep total=1000000 due=10000 ms=<ms>
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import pg from 'pg';
import { HeartbeatSweep } from '../../src/core/heartbeats/index.js';
import { NotificationOutbox } from '../../src/core/notifications/index.js';
import { migrate, openOrm } from '../../src/db/orm.js';
import { NotificationQueue } from '../../src/jobs/notification-queue.js';
import { startJobQueue, stopJobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/logger.js';
import { freePort, waitForStatus } from '../support/service-process.js';
import { startService } from './service-under-test.js';

const TOTAL = Number(process.env.BENCH_TOTAL ?? 1_000_000);
const DUE = Number(process.env.BENCH_DUE ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SWEEP_REPS = Number(process.env.BENCH_REPS ?? 5);
/** During the check-in load, this many heartbeats are made due every 10 s, so each sweep has work. */
const LOAD_DUE = Number(process.env.BENCH_LOAD_DUE ?? 1000);
/** Check-ins are sent in ticks of this many milliseconds (RATE / 1000 * TICK per tick). */
const TICK_MS = 5;
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
  let service: ReturnType<typeof startService> | undefined;
  try {
    await migrate(orm);
    const queue = new NotificationQueue(boss);
    await queue.setup();
    const outbox = new NotificationOutbox(queue);
    const sweep = new HeartbeatSweep(orm, outbox, silent);
    const [{ id: projectId }] = (
      await db.query<{ id: string }>(
        `insert into projects (id, name, repository, ssh_private_key, ssh_public_key)
         values (gen_random_uuid(), 'bench', 'https://example.invalid/bench.git', 'sealed', 'ssh-ed25519 AAAA')
         returning id`,
      )
    ).rows as [{ id: string }];

    const filling = performance.now();
    for (let from = 0; from < TOTAL; from += 250_000) {
      await db.query(
        `insert into heartbeats (id, project_id, name, token, interval_minutes, grace_minutes, status,
                                 last_check_in_at, next_due_at, created_at, updated_at)
         select gen_random_uuid(), $1, 'hb-' || i,
                rtrim(translate(encode(sha256(('bench-' || i)::bytea), 'base64'), '+/', '-_'), '='),
                10, 5, 'healthy', now(), now() + interval '1 hour' + (i % 3600) * interval '1 second', now(), now()
           from generate_series($2::int, $3::int - 1) as i`,
        [projectId, from, Math.min(TOTAL, from + 250_000)],
      );
    }
    await db.query('vacuum analyze heartbeats');
    process.stdout.write(`filled ${TOTAL} heartbeats in ${ms((performance.now() - filling) / 1000)} s\n`);

    const makeDue = async (count: number) => {
      await db.query(
        // Locked in id order, as the service's check-ins lock theirs: they wait, never deadlock.
        `with picked as (
           select id from heartbeats
            where id in (select id from heartbeats tablesample system (5) where status = 'healthy' limit $1)
            order by id for update
         )
         update heartbeats h set next_due_at = now() - interval '1 minute' from picked where h.id = picked.id`,
        [count],
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

    await timeSweep(); // warm: connections, plans
    const idle: number[] = [];
    for (let i = 0; i < SWEEP_REPS; i++) idle.push((await timeSweep()).elapsed);
    const busy: number[] = [];
    for (let i = 0; i < SWEEP_REPS; i++) {
      await makeDue(DUE);
      const { elapsed, result } = await timeSweep();
      const events = await db.query<{ n: number }>(
        `select count(*)::int as n from notification_events where type = 'heartbeat.missing'`,
      );
      if (result.alerted !== DUE || events.rows[0]!.n !== DUE)
        throw new Error(`expected ${DUE} alerts, got ${result.alerted} (${events.rows[0]!.n} in the outbox)`);
      busy.push(elapsed);
      await reset();
    }
    process.stdout.write(
      `sweep total=${TOTAL} due=0 ms=${ms(median(idle))} (min ${ms(Math.min(...idle))}, max ${ms(Math.max(...idle))}, ${SWEEP_REPS} runs)\n`,
    );
    process.stdout.write(
      `sweep total=${TOTAL} due=${DUE} ms=${ms(median(busy))} (min ${ms(Math.min(...busy))}, max ${ms(Math.max(...busy))}, ${SWEEP_REPS} runs; each heartbeat moved with its alert in the same transaction)\n`,
    );
    await stopJobQueue(boss, 2000).catch(() => undefined);

    // Check-ins against the running service, its sweep running every 5 s.
    const port = await freePort();
    service = startService({
      env: {
        DATABASE_URL: databaseUrl,
        SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
        PORT: String(port),
        SLIPWAY_HEARTBEAT_SWEEP_SECONDS: '5',
        LOG_LEVEL: 'warn',
        ...(process.env.BENCH_CPU_PROF
          ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}` }
          : {}),
      },
    });
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 120_000, service);
    const tokens = (
      await db.query<{ token: string }>(
        `select token from heartbeats tablesample system (2) where status = 'healthy' limit 20000`,
      )
    ).rows.map((row) => row.token);
    const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
    const checkIn = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, method: 'POST', path: `/heartbeats/${token}`, agent, timeout: 10_000 },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.end();
      });
    // Warm the sockets and the route.
    await Promise.all(tokens.slice(0, 500).map(checkIn));

    const latencies: number[] = [];
    let failed = 0;
    let next = 0;
    const inFlight = new Set<Promise<void>>();
    const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
    const dueTimer = setInterval(() => void makeDue(LOAD_DUE).catch(() => undefined), 10_000);
    void makeDue(LOAD_DUE).catch(() => undefined);
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    for (let tick = 0; ; tick++) {
      const at = started + tick * TICK_MS;
      if (at >= deadline) break;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      for (let i = 0; i < perTick; i++) {
        const token = tokens[next++ % tokens.length]!;
        const sent = performance.now();
        const call: Promise<void> = checkIn(token).then(
          (status) => {
            if (status === 200) latencies.push(performance.now() - sent);
            else failed++;
          },
          () => {
            failed++;
          },
        );
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
      }
    }
    await Promise.all(inFlight);
    clearInterval(dueTimer);
    const elapsed = (performance.now() - started) / 1000;
    const swept = await db.query<{ n: number }>(
      `select count(*)::int as n from notification_events where type = 'heartbeat.missing'`,
    );
    agent.destroy();
    process.stdout.write(
      `checkins sent=${next} answered=${latencies.length} failed=${failed} in ${elapsed.toFixed(1)} s; ` +
        `p50=${ms(percentile(latencies, 50))}ms p99=${ms(percentile(latencies, 99))}ms max=${ms(latencies.reduce((a, b) => Math.max(a, b), 0))}ms; ` +
        `alerts the service's sweep wrote meanwhile: ${swept.rows[0]!.n} (${LOAD_DUE} made due every 10 s)\n`,
    );
    process.stdout.write(
      `checkins rate=${Math.round(latencies.length / elapsed)}/s p99=${ms(percentile(latencies, 99))}ms\n`,
    );
    process.stdout.write(`sweep total=${TOTAL} due=${DUE} ms=${ms(median(busy))}\n`);
  } finally {
    if (service) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
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
