/**
 * Heartbeat benchmark, at a million. With 1,000,000 heartbeats in PostgreSQL:
 *
 * 1. the sweep with 0 and with 10,000 due (each moved to `missing` with its alert written to the
 *    outbox in the same transaction), timed in this process on the product's HeartbeatSweep;
 * 2. 10,000 check-ins per second for 30 s against the running service (`slipway start` in a
 *    child process, its sweep every 5 s, 1,000 heartbeats made due every 10 s meanwhile), over
 *    keep-alive HTTP to 127.0.0.1 only, after 5 s of warm-up at the same rate: the rate answered
 *    and the latency percentiles; then the same load against a bare Node HTTP server (the floor).
 *
 * Run: npm run bench:heartbeats   (BENCH_DATABASE_URL=postgres://… to choose the server;
 * default: the PostgreSQL at 127.0.0.1:5432, where a scratch database is created and dropped;
 * BENCH_TOTAL, BENCH_DUE, BENCH_LOAD_DUE, BENCH_RATE, BENCH_SECONDS, BENCH_WARMUP_SECONDS to scale it;
 * BENCH_CPU_PROF=<dir> to profile the service)
 * The last line reads: sweep total=1000000 due=10000 ms=<ms>
 */
import { type ChildProcess, spawn } from 'node:child_process';
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
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
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

interface Load {
  sent: number;
  latencies: number[];
  failed: number;
  elapsed: number;
  /** The slowest answer to what was sent in the first second. */
  firstSecondMax: number;
}

/**
 * RATE check-ins a second for `seconds`, open loop (sent on schedule whatever the answers), over
 * keep-alive sockets to 127.0.0.1:`port`; the latency of every answered one.
 */
async function driveCheckIns(port: number, tokens: string[], seconds: number): Promise<Load> {
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
  const latencies: number[] = [];
  let firstSecondMax = 0;
  let failed = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  for (let tick = 0; ; tick++) {
    const at = started + tick * TICK_MS;
    if (at >= deadline) break;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    for (let i = 0; i < perTick; i++) {
      const token = tokens[sent++ % tokens.length]!;
      const sentAt = performance.now();
      const call: Promise<void> = checkIn(token).then(
        (status) => {
          const latency = performance.now() - sentAt;
          if (status === 200) latencies.push(latency);
          else failed++;
          if (sentAt - started < 1000) firstSecondMax = Math.max(firstSecondMax, latency);
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
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { sent, latencies, failed, elapsed, firstSecondMax };
}

/** A bare Node HTTP server in a child process, answering `OK` at once: the floor of the load. */
async function startBareServer(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.setHeader('cache-control', 'no-store'); s.end('OK\\n'); }); }).listen(${port}, '127.0.0.1')`,
    ],
    { stdio: 'ignore' },
  );
  await waitForStatus(`http://127.0.0.1:${port}/`, 200, 10_000);
  return { child, port };
}

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
    const dueTimer = setInterval(() => void makeDue(LOAD_DUE).catch(() => undefined), 10_000);
    void makeDue(LOAD_DUE).catch(() => undefined);
    // Warm-up at the full rate, not measured: sockets opened, the route compiled, pools grown.
    const warmUp = await driveCheckIns(port, tokens, WARMUP_SECONDS);
    const load = await driveCheckIns(port, tokens, SECONDS);
    clearInterval(dueTimer);
    const swept = await db.query<{ n: number }>(
      `select count(*)::int as n from notification_events where type = 'heartbeat.missing'`,
    );
    // The floor: a bare Node HTTP server answering every request at once, driven the same way,
    // with the service stopped (its sweeps would otherwise run during the floor too).
    service.child.kill('SIGTERM');
    await service.exited;
    service = undefined;
    const bare = await startBareServer();
    let floor: Load;
    try {
      await driveCheckIns(bare.port, tokens, WARMUP_SECONDS);
      floor = await driveCheckIns(bare.port, tokens, SECONDS);
    } finally {
      bare.child.kill('SIGTERM');
    }
    const p99 = percentile(load.latencies, 99);
    const floorP99 = percentile(floor.latencies, 99);
    process.stdout.write(
      `checkins sent=${load.sent} answered=${load.latencies.length} failed=${load.failed} in ${load.elapsed.toFixed(1)} s ` +
        `(after ${WARMUP_SECONDS} s of warm-up at the same rate, whose first second answered within ${ms(warmUp.firstSecondMax)}ms); ` +
        `p50=${ms(percentile(load.latencies, 50))}ms p99=${ms(p99)}ms max=${ms(load.latencies.reduce((a, b) => Math.max(a, b), 0))}ms; ` +
        `alerts the service's sweep wrote meanwhile: ${swept.rows[0]!.n} (${LOAD_DUE} made due every 10 s)\n`,
    );
    process.stdout.write(
      `checkins floor (a bare HTTP server, same load): answered=${floor.latencies.length} failed=${floor.failed} ` +
        `p50=${ms(percentile(floor.latencies, 50))}ms p99=${ms(floorP99)}ms; ratio of p99s=${(p99 / floorP99).toFixed(2)}\n`,
    );
    process.stdout.write(
      `checkins rate=${Math.round(load.latencies.length / load.elapsed)}/s p99=${ms(p99)}ms\n`,
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
