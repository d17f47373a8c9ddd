/**
 * Slack ack benchmark: signed slash commands at a fixed rate (default 200/s for 20 s), sent from
 * a separate process, against Slipway's /slack/events (the whole service: signature check, our
 * receiver, Bolt, the router; the command's work — database reads and a chat.postMessage to a
 * stand-in for Slack in its own process, as Slack is remote — runs after the ack, under the same
 * load) and, in the same run, against a bare Bolt app (its own HTTPReceiver) that only acks.
 * Reports p50/p99 of the time to the HTTP answer for both, and the ratio. Target: p99 ≤ 50 ms
 * and ≤ 1.5× bare Bolt.
 *
 * Run: npm run bench:ack   (BENCH_RATE, BENCH_SECONDS; BENCH_DATABASE_URL or the machine's
 * PostgreSQL at 127.0.0.1:5432 as an admin URL: a scratch database is created and dropped)
 * Slack's line reads exactly: ack p99 slipway=<ms>ms bolt=<ms>ms ratio=<r>; Teams' (ack-teams.ts) comes last.
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import bolt from '@slack/bolt';
import pg from 'pg';
import { startSlipway } from '../../src/app/start.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { withDatabase } from '../support/global-setup.js';
import { discordAck } from './ack-discord.js';

const run = promisify(execFile);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SECRET = 'bench-signing-secret';
/** What the commands ask: `status bench` reads the project's environments after the ack and posts a message. */
const TEXT = process.env.BENCH_TEXT ?? 'status bench';
const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

async function load(url: string, text: string, responseBase: string, seconds = SECONDS): Promise<LoadResult> {
  const { stdout } = await run(
    process.execPath,
    [
      // The client's own scavenges would add to every latency it measures, for both targets.
      '--max-semi-space-size=64',
      '--import',
      'tsx',
      'test/bench/ack-load.ts',
      url,
      String(RATE),
      String(seconds),
      SECRET,
      text,
      responseBase,
    ],
    { maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const fmt = (ms: number) => ms.toFixed(1);

/** Sends one message to the stand-in process and waits for its answer. */
function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send({ type });
  });
}

/** Slack's stand-in in its own process (test/bench/slack-standin.ts). */
async function startSlackStandIn() {
  const child = fork('test/bench/slack-standin.ts', [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => child.once('message', resolve));
  const { url, apiUrl } = await ask<{ url: string; apiUrl: string }>(child, 'address');
  return {
    url,
    apiUrl,
    counts: () => ask<Record<string, number>>(child, 'counts'),
    close: async () => {
      child.disconnect();
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function main(): Promise<void> {
  const slack = await startSlackStandIn();
  const name = `slipway_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const logger = createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });
  const slipway = await startSlipway(
    loadConfig({
      DATABASE_URL: withDatabase(ADMIN_URL, name),
      SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
      PORT: '0',
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLIPWAY_ADMINS: Array.from({ length: 50 }, (_, i) => `slack:T1:U${i}`).join(','),
      LOG_LEVEL: 'warn',
    }),
    logger,
  );
  // A project to ask about: `/slipway status bench` reads it after the ack.
  const em = slipway.database.orm.em.fork();
  const setup = { memberId: null, name: 'bench', source: 'bench' };
  const project = await slipway.services.setup.createProject(em, setup, {
    name: 'bench',
    repository: 'https://example.invalid/bench.git',
  });
  await slipway.services.setup.createEnvironment(em, setup, project, { name: 'staging', branch: 'main' });
  await slipway.services.setup.createEnvironment(em, setup, project, {
    name: 'production',
    branch: 'main',
  });
  const address = slipway.http.server.address();
  const slipwayUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/slack/events`;

  const boltPort = await freePort();
  const bare = new bolt.App({
    token: 'xoxb-bench',
    signingSecret: SECRET,
    clientOptions: { slackApiUrl: slack.apiUrl },
    logLevel: bolt.LogLevel.ERROR,
  });
  bare.command(/.*/, async ({ ack }) => {
    await ack();
  });
  await bare.start(boltPort);
  const boltUrl = `http://127.0.0.1:${boltPort}/slack/events`;

  try {
    process.stdout.write(
      `ack benchmark: ${RATE}/s for ${SECONDS} s per target, load from a separate process\n`,
    );
    const answered = async () => {
      const counts = await slack.counts();
      return (counts['/api/chat.postMessage'] ?? 0) + (counts['/respond/*'] ?? 0);
    };
    /** Waits until Slipway has sent `expected` replies: its work after the acks is done. */
    const drain = async (expected: number) => {
      const started = performance.now();
      while ((await answered()) < expected && performance.now() - started < 180_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return performance.now() - started;
    };
    // Warm both (JIT, connection pools, Bolt's auth.test), one after the other, and let Slipway
    // finish the warm-up's work, so neither measurement shares the CPU with the other's backlog.
    const warmSeconds = Math.min(SECONDS, 5);
    const warm = [
      await load(slipwayUrl, TEXT, slack.url, warmSeconds),
      await load(boltUrl, TEXT, slack.url, warmSeconds),
    ] as const;
    await drain(warm[0].ok);
    process.stdout.write(
      `warm-up: slipway ok=${warm[0].ok}/${warm[0].sent}, bolt ok=${warm[1].ok}/${warm[1].sent}\n`,
    );
    const boltResult = await load(boltUrl, TEXT, slack.url);
    process.stdout.write(
      `bolt    p50=${fmt(boltResult.p50)}ms p99=${fmt(boltResult.p99)}ms max=${fmt(boltResult.max)}ms ok=${boltResult.ok}/${boltResult.sent}\n`,
    );
    const slipwayResult = await load(slipwayUrl, TEXT, slack.url);
    process.stdout.write(
      `slipway p50=${fmt(slipwayResult.p50)}ms p99=${fmt(slipwayResult.p99)}ms max=${fmt(slipwayResult.max)}ms ok=${slipwayResult.ok}/${slipwayResult.sent}\n`,
    );
    // The work behind the acks (database reads, chat.postMessage) finishes after the load:
    // wait for every reply (the pool serves all commands' queries in turn, so they finish together).
    const expected = warm[0].ok + slipwayResult.ok;
    const drainedMs = await drain(expected);
    const posted = await answered();
    process.stdout.write(`requests the Slack stand-in received: ${JSON.stringify(await slack.counts())}\n`);
    process.stdout.write(
      `slipway replies sent to the Slack stand-in: ${posted}/${expected} (all in ${fmt(drainedMs)}ms after the load)\n`,
    );
    process.stdout.write(
      `ack p99 slipway=${fmt(slipwayResult.p99)}ms bolt=${fmt(boltResult.p99)}ms ratio=${(slipwayResult.p99 / boltResult.p99).toFixed(2)}\n`,
    );
  } finally {
    await bare.stop();
    await slipway.stop();
    await slack.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  await discordAck({ rate: RATE, seconds: SECONDS, adminUrl: ADMIN_URL });
  // Teams (test/bench/ack-teams.ts): its own service and bare bot, after the others; its line comes last.
  await (await import('./ack-teams.js')).benchTeamsAck({ rate: RATE, seconds: SECONDS, adminUrl: ADMIN_URL });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
