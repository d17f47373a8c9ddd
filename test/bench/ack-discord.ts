/**
 * Discord's part of the ack benchmark (called by test/bench/ack.ts after Slack's): signed
 * interactions — `/slipway text:status bench`, real format — at a fixed rate (default 200/s for
 * 20 s), from a separate process, against Slipway's /discord/interactions (the whole service:
 * signature check, parsing, the command's grammar, the deferral; the work — the replay ledger,
 * database reads and the edit of the deferred response through discord.js's REST client to a
 * stand-in for Discord in its own process — runs after the ack, under the same load) and, in the
 * same run, against a bare endpoint on the same HTTP server library that only verifies the
 * signature and defers. Reports p50/p99 of the time to the HTTP answer for both, and the ratio.
 * Target: p99 ≤ 50 ms.
 *
 * The last line reads exactly: ack discord p99 slipway=<ms>ms bare=<ms>ms ratio=<r>
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { discordPublicKey, verifyDiscordSignature } from '../../adapters/discord/signature.js';
import { startSlipway } from '../../src/app/start.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { withDatabase } from '../support/global-setup.js';

const run = promisify(execFile);
const fmt = (ms: number) => ms.toFixed(1);

interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  deferred: number;
  p50: number;
  p99: number;
  max: number;
}

function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send({ type });
  });
}

/** The bare floor: fastify, the raw body, the Ed25519 check, JSON.parse, a deferral. */
async function startBare(publicKeyHex: string) {
  const key = discordPublicKey(publicKeyHex);
  const bare = Fastify();
  bare.removeAllContentTypeParsers();
  bare.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  bare.post('/discord/interactions', async (request, reply) => {
    const raw = request.body as Buffer;
    const check = verifyDiscordSignature(
      key,
      {
        signature: request.headers['x-signature-ed25519'] as string | undefined,
        timestamp: request.headers['x-signature-timestamp'] as string | undefined,
      },
      raw,
    );
    if (!check.ok) return reply.code(401).send({ error: 'invalid_signature' });
    const interaction = JSON.parse(raw.toString('utf8')) as { type: number };
    return reply.send(interaction.type === 1 ? { type: 1 } : { type: 5 });
  });
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const address = bare.server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () => bare.close(),
  };
}

export async function discordAck(options: {
  rate: number;
  seconds: number;
  adminUrl: string;
}): Promise<void> {
  const { rate, seconds, adminUrl } = options;
  const text = process.env.BENCH_TEXT ?? 'status bench';
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyHex = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
    .subarray(12)
    .toString('hex');
  const privateKeyArg = (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64');

  const standIn = fork('test/bench/discord-standin.ts', [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => standIn.once('message', resolve));
  const discord = await ask<{ apiUrl: string; botToken: string; applicationId: string }>(standIn, 'address');

  const name = `slipway_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const logger = createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });
  const slipway = await startSlipway(
    loadConfig({
      DATABASE_URL: withDatabase(adminUrl, name),
      SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
      PORT: '0',
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_PUBLIC_KEY: publicKeyHex,
      DISCORD_BOT_TOKEN: discord.botToken,
      DISCORD_API_URL: discord.apiUrl,
      SLIPWAY_ADMINS: Array.from(
        { length: 50 },
        (_, i) => `discord:1170000000000000001:11600000000000${String(i).padStart(5, '0')}`,
      ).join(','),
      LOG_LEVEL: 'warn',
    }),
    logger,
  );
  const em = slipway.database.orm.em.fork();
  const setup = { memberId: null, name: 'bench', source: 'bench' };
  const project = await slipway.services.setup.createProject(em, setup, {
    name: 'bench',
    repository: 'https://example.invalid/bench.git',
  });
  await slipway.services.setup.createEnvironment(em, setup, project, { name: 'staging', branch: 'main' });
  await slipway.services.setup.createEnvironment(em, setup, project, { name: 'production', branch: 'main' });
  const address = slipway.http.server.address();
  const slipwayUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/discord/interactions`;
  const bare = await startBare(publicKeyHex);
  const bareUrl = `${bare.url}/discord/interactions`;

  const load = async (url: string, forSeconds = seconds): Promise<LoadResult> => {
    const { stdout } = await run(
      process.execPath,
      [
        '--max-semi-space-size=64',
        '--import',
        'tsx',
        'test/bench/ack-discord-load.ts',
        url,
        String(rate),
        String(forSeconds),
        privateKeyArg,
        discord.applicationId,
        text,
      ],
      { maxBuffer: 1024 * 1024 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
  };
  const edited = async () => {
    const counts = await ask<Record<string, number>>(standIn, 'counts');
    return (counts['PATCH /webhooks/*/@original 200'] ?? 0) + (counts['POST /webhooks/* 200'] ?? 0);
  };
  const drain = async (expected: number) => {
    const started = performance.now();
    while ((await edited()) < expected && performance.now() - started < 180_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return performance.now() - started;
  };
  const line = (label: string, r: LoadResult) =>
    `${label} p50=${fmt(r.p50)}ms p99=${fmt(r.p99)}ms max=${fmt(r.max)}ms ok=${r.ok}/${r.sent} deferred=${r.deferred}\n`;

  try {
    process.stdout.write(
      `ack benchmark (Discord): ${rate}/s for ${seconds} s per target, load from a separate process\n`,
    );
    const warmSeconds = Math.min(seconds, 5);
    const warm = [await load(slipwayUrl, warmSeconds), await load(bareUrl, warmSeconds)] as const;
    await drain(warm[0].deferred);
    process.stdout.write(
      `warm-up: slipway ok=${warm[0].ok}/${warm[0].sent}, bare ok=${warm[1].ok}/${warm[1].sent}\n`,
    );
    const bareResult = await load(bareUrl);
    process.stdout.write(line('bare    ', bareResult));
    const slipwayResult = await load(slipwayUrl);
    process.stdout.write(line('slipway ', slipwayResult));
    const expected = warm[0].deferred + slipwayResult.deferred;
    const drainedMs = await drain(expected);
    const answered = await edited();
    process.stdout.write(
      `requests the Discord stand-in received: ${JSON.stringify(await ask<Record<string, number>>(standIn, 'counts'))}\n`,
    );
    process.stdout.write(
      `slipway replies edited into the deferred responses: ${answered}/${expected} (all in ${fmt(drainedMs)}ms after the load)\n`,
    );
    process.stdout.write(
      `ack discord p99 slipway=${fmt(slipwayResult.p99)}ms bare=${fmt(bareResult.p99)}ms ratio=${(slipwayResult.p99 / bareResult.p99).toFixed(2)}\n`,
    );
  } finally {
    await bare.close();
    await slipway.stop();
    standIn.disconnect();
    await new Promise((resolve) => standIn.once('exit', resolve));
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}
