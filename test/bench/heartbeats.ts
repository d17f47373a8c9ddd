/**
 * Heartbeat benchmark, at a million. With 1,000,000 heartbeats in PostgreSQL:
 *
 * 1. the sweep with 0 and with 10,000 due (each moved to `missing` with its alert written to the
 *    outbox in the same transaction), timed in this process on the product's HeartbeatSweep;
 * 2. 10,000 check-ins per second for 30 s against the running service (`slipway start` in a
 *    child process, its sweep every 5 s, 1,000 heartbeats made due every 10 s meanwhile), over
 *    keep-alive HTTP to 127.0.0.1 only, after 5 s of warm-up at the same rate: the rate answered
 *    and the latency percentiles; then the same load against a bare Node HTTP server (the floor).
 *    The load comes from test/bench/check-in-load.ts in a process of its own: sent from this
 *    process with node:http it took ~43% of a core and its pauses were most of the tail it
 *    measured (the floor's p99 2.8–16.5 ms, against 1.0–1.5 ms from its own process).
 *
 * Run: npm run bench:heartbeats   (BENCH_DATABASE_URL=postgres://… to choose the server;
 * default: the PostgreSQL at 127.0.0.1:5432, where a scratch database is created and dropped;
 * BENCH_TOTAL, BENCH_DUE, BENCH_LOAD_DUE, BENCH_RATE, BENCH_SECONDS, BENCH_WARMUP_SECONDS to scale it;
 * BENCH_CONNECTIONS=new for a new connection per check-in, as a crontab's plain `curl` makes;
 * BENCH_CPU_PROF=<dir> to profile the service; BENCH_TIMELINE=1 to print each 100 ms whose slowest
 * check-in took over 50 ms)
 * The last line reads: sweep total=1000000 due=10000 ms=<ms>
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { HeartbeatSweep } from '../../src/core/heartbeats/index.js';
import { NotificationOutbox } from '../../src/core/notifications/index.js';
import { migrate, openOrm } from '../../src/db/orm.js';
import { NotificationQueue } from '../../src/jobs/notification-queue.js';
import { startJobQueue, stopJobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/logger.js';
import { freePort, waitForStatus } from '../support/service-process.js';
import type { CheckInLoadResult } from './check-in-load.js';
import { processCpuMs } from './cpu-time.js';
import { startService } from './service-under-test.js';

const run = promisify(execFile);

const TOTAL = Number(process.env.BENCH_TOTAL ?? 1_000_000);
const DUE = Number(process.env.BENCH_DUE ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const SWEEP_REPS = Number(process.env.BENCH_REPS ?? 5);
/** During the check-in load, this many heartbeats are made due every 10 s, so each sweep has work. */
const LOAD_DUE = Number(process.env.BENCH_LOAD_DUE ?? 1000);
/** `new`: every check-in on a connection of its own, as a plain `curl` sends it; else keep-alive. */
const CONNECTIONS = process.env.BENCH_CONNECTIONS === 'new' ? 'new' : 'keep-alive';
const silent = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const ms = (value: number) => value.toFixed(1);

/**
 * RATE check-ins a second to 127.0.0.1:`port`, WARMUP_SECONDS not measured then SECONDS measured,
 * from test/bench/check-in-load.ts in a process of its own.
 */
async function driveCheckIns(port: number, tokensFile: string): Promise<CheckInLoadResult> {
  const { stdout } = await run(
    process.execPath,
    [
      '--max-semi-space-size=64',
      '--import',
      'tsx',
      'test/bench/check-in-load.ts',
      String(port),
      String(RATE),
      String(WARMUP_SECONDS),
      String(SECONDS),
      tokensFile,
      CONNECTIONS,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as CheckInLoadResult;
}

/** The slowest stretches of a load, when BENCH_TIMELINE=1: where in the sweep's cycle the tail falls. */
function printTimeline(label: string, load: CheckInLoadResult): void {
  if (process.env.BENCH_TIMELINE !== '1') return;
  for (const window of load.slowWindows) {
    process.stdout.write(
      `${label} 100 ms from ${new Date(window.at).toISOString()} (${window.at % 5000} ms into the 5 s sweep cycle): ` +
        `n=${window.count} p50=${ms(window.p50)}ms max=${ms(window.max)}ms\n`,
    );
  }
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

    const commits = async () =>
      (
        await db.query<{ n: string }>(
          'select xact_commit::text as n from pg_stat_database where datname = current_database()',
        )
      ).rows.map((row) => Number(row.n))[0]!;
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
    const scratch = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
    const tokensFile = join(scratch, 'tokens.json');
    await writeFile(tokensFile, JSON.stringify(tokens));
    const dueTimer = setInterval(() => void makeDue(LOAD_DUE).catch(() => undefined), 10_000);
    void makeDue(LOAD_DUE).catch(() => undefined);
    // Each load starts with a warm-up at the full rate, not measured: connections opened, the
    // route compiled, pools grown.
    const serviceCpu = await processCpuMs(service.child.pid!);
    const commitsBefore = await commits();
    const loadStarted = new Date();
    const load = await driveCheckIns(port, tokensFile);
    // Every transaction of the database in that time (check-ins, sweeps, queue polling, this bench's).
    const commitsPerSecond =
      ((await commits()) - commitsBefore) / ((Date.now() - loadStarted.getTime()) / 1000);
    // Over the warm-up and the load both: the service's share of a core while it answers.
    const serviceCpuShare =
      ((await processCpuMs(service.child.pid!)) - serviceCpu) / (Date.now() - loadStarted.getTime());
    clearInterval(dueTimer);
    // The answers were the service's: every heartbeat the load pinged has a check-in from it.
    const checkedIn = await db.query<{ n: number }>(
      'select count(*)::int as n from heartbeats where last_check_in_at >= $1',
      [loadStarted],
    );
    const pinged = new Set(tokens).size;
    if (checkedIn.rows[0]!.n < pinged)
      throw new Error(`${checkedIn.rows[0]!.n} heartbeats checked in, ${pinged} pinged`);
    const swept = await db.query<{ n: number }>(
      `select count(*)::int as n from notification_events where type = 'heartbeat.missing'`,
    );
    // The floor: a bare Node HTTP server answering every request at once, driven the same way,
    // with the service stopped (its sweeps would otherwise run during the floor too).
    service.child.kill('SIGTERM');
    await service.exited;
    service = undefined;
    const bare = await startBareServer();
    let floor: CheckInLoadResult;
    try {
      floor = await driveCheckIns(bare.port, tokensFile);
    } finally {
      bare.child.kill('SIGTERM');
      await rm(scratch, { recursive: true, force: true });
    }
    printTimeline('checkins', load);
    printTimeline('floor', floor);
    process.stdout.write(
      `checkins (${CONNECTIONS} connections) sent=${load.sent} answered=${load.answered} failed=${load.failed} in ${load.elapsed.toFixed(1)} s ` +
        `(after ${WARMUP_SECONDS} s of warm-up at the same rate, whose first second answered within ${ms(load.firstSecondMax)}ms); ` +
        `p50=${ms(load.p50)}ms p99=${ms(load.p99)}ms max=${ms(load.max)}ms; ` +
        `alerts the service's sweep wrote meanwhile: ${swept.rows[0]!.n} (${LOAD_DUE} made due every 10 s); ` +
        `CPU: service ${(serviceCpuShare * 100).toFixed(0)}% of a core, load generator ${((load.cpuMs / 1000 / load.elapsed) * 100).toFixed(0)}%; ` +
        `${Math.round(commitsPerSecond)} database commits a second\n`,
    );
    process.stdout.write(
      `checkins floor (a bare HTTP server, same load): answered=${floor.answered} failed=${floor.failed} ` +
        `p50=${ms(floor.p50)}ms p99=${ms(floor.p99)}ms; ratio of p99s=${(load.p99 / floor.p99).toFixed(2)}\n`,
    );
    process.stdout.write(
      `checkins rate=${Math.round(load.answered / load.elapsed)}/s p99=${ms(load.p99)}ms\n`,
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
