/**
 * The Teams part of `npm run bench:ack`: authenticated activities (personal-chat messages with a
 * real RS256 Bot Framework JWT, keys from a local OpenID metadata server) at a fixed rate (default
 * 200/s for 20 s), sent from a separate process, against Slipway's /api/messages (the whole
 * service: botbuilder's JWT check, the replay ledger in PostgreSQL, the ack; the command's work —
 * `status bench`, database reads and a reply through botbuilder's Connector client to a stand-in
 * in its own process — follows the ack under the same load) and, in the same run, against a bare
 * CloudAdapter bot with the same authentication that only acks. Target: p99 ≤ 50 ms.
 * Prints as its last line: ack teams p99 slipway=<ms>ms bare=<ms>ms ratio=<r>
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { AuthenticationConstants } from 'botframework-connector';
import Fastify from 'fastify';
import pg from 'pg';
import { startSlipway } from '../../src/app/start.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { withDatabase } from '../support/global-setup.js';
import { startBotFrameworkIdentity } from '../support/teams-fake.js';

const run = promisify(execFile);
const APP_ID = '00000000-0000-4000-8000-0000000be9c4';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const BOT = `28:${APP_ID}`;
const fmt = (ms: number) => ms.toFixed(1);

interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
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

export async function benchTeamsAck(options: {
  rate: number;
  seconds: number;
  adminUrl: string;
}): Promise<void> {
  const { rate, seconds, adminUrl } = options;
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const identity = await startBotFrameworkIdentity({
    appId: APP_ID,
    appPassword: 'bench-secret',
    tenantId: TENANT,
  });
  const standin = fork('test/bench/teams-standin.ts', [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => standin.once('message', resolve));
  const { serviceUrl } = await ask<{ serviceUrl: string }>(standin, 'address');
  const token = identity.sign({ serviceUrl });

  const name = `slipway_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const users = Array.from(
    { length: 50 },
    (_, i) => `teams:${TENANT}:00000000-0000-4000-b000-${String(i).padStart(12, '0')}`,
  );
  const slipway = await startSlipway(
    loadConfig({
      DATABASE_URL: withDatabase(adminUrl, name),
      SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
      PORT: '0',
      ...identity.env,
      TEAMS_APP_TYPE: 'SingleTenant',
      SLIPWAY_ADMINS: users.join(','),
      LOG_LEVEL: 'warn',
    }),
    createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }),
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
  const slipwayUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/messages`;

  // The floor: botbuilder's CloudAdapter with the same authentication, on fastify, acking only.
  const bare = Fastify({ logger: false });
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: 'bench-secret',
      MicrosoftAppTenantId: TENANT,
      MicrosoftAppType: 'SingleTenant',
      ToBotFromChannelOpenIdMetadataUrl: identity.env.TEAMS_OPENID_METADATA_URL,
      ToBotFromChannelTokenIssuer: AuthenticationConstants.ToBotFromChannelTokenIssuer,
      ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
      ToChannelFromBotLoginUrl: `https://login.microsoftonline.com/${TENANT}`,
      ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
      OAuthUrl: AuthenticationConstants.OAuthUrl,
      ValidateAuthority: true,
    }),
  );
  bare.post('/api/messages', async (request, reply) => {
    let status = 200;
    let body: unknown;
    await adapter.process(
      { method: 'POST', headers: request.headers, body: request.body as Record<string, unknown> },
      {
        socket: null,
        status: (code: number) => {
          status = code;
        },
        header: () => undefined,
        send: (value: unknown) => {
          body = value;
        },
        end: () => undefined,
      },
      async () => {},
    );
    return reply.code(status).send(body ?? '');
  });
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareAddress = bare.server.address();
  const bareUrl = `http://127.0.0.1:${typeof bareAddress === 'object' && bareAddress ? bareAddress.port : 0}/api/messages`;

  let batch = 0;
  const load = async (url: string, duration: number): Promise<LoadResult> => {
    batch += 1;
    const { stdout } = await run(
      process.execPath,
      [
        '--max-semi-space-size=64',
        '--import',
        'tsx',
        'test/bench/ack-teams-load.ts',
        url,
        String(rate),
        String(duration),
        serviceUrl,
        TENANT,
        BOT,
        'status bench',
        `bench-${batch}-${randomBytes(3).toString('hex')}`,
      ],
      { maxBuffer: 1024 * 1024, env: { ...process.env, BENCH_TEAMS_TOKEN: token } },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
  };
  const answered = async () => {
    const counts = await ask<Record<string, number>>(standin, 'counts');
    return (counts.send ?? 0) + (counts.reply ?? 0);
  };
  const drain = async (expected: number) => {
    const started = performance.now();
    while ((await answered()) < expected && performance.now() - started < 180_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return performance.now() - started;
  };

  try {
    write(`ack teams benchmark: ${rate}/s for ${seconds} s per target, load from a separate process`);
    const warmSeconds = Math.min(seconds, 5);
    const warm = [await load(slipwayUrl, warmSeconds), await load(bareUrl, warmSeconds)] as const;
    await drain(warm[0].ok);
    write(`teams warm-up: slipway ok=${warm[0].ok}/${warm[0].sent}, bare ok=${warm[1].ok}/${warm[1].sent}`);
    const bareResult = await load(bareUrl, seconds);
    write(
      `teams bare    p50=${fmt(bareResult.p50)}ms p99=${fmt(bareResult.p99)}ms max=${fmt(bareResult.max)}ms ok=${bareResult.ok}/${bareResult.sent}`,
    );
    const slipwayResult = await load(slipwayUrl, seconds);
    write(
      `teams slipway p50=${fmt(slipwayResult.p50)}ms p99=${fmt(slipwayResult.p99)}ms max=${fmt(slipwayResult.max)}ms ok=${slipwayResult.ok}/${slipwayResult.sent}`,
    );
    const expected = warm[0].ok + slipwayResult.ok;
    const drainedMs = await drain(expected);
    write(
      `teams replies the Bot Connector stand-in received: ${await answered()}/${expected} (all in ${fmt(drainedMs)}ms after the load)`,
    );
    write(
      `ack teams p99 slipway=${fmt(slipwayResult.p99)}ms bare=${fmt(bareResult.p99)}ms ratio=${(slipwayResult.p99 / bareResult.p99).toFixed(2)}`,
    );
  } finally {
    await bare.close();
    await slipway.stop();
    standin.disconnect();
    await identity.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

// Run alone: node --max-semi-space-size=64 --import tsx test/bench/ack-teams.ts (same BENCH_* settings).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchTeamsAck({
    rate: Number(process.env.BENCH_RATE ?? 200),
    seconds: Number(process.env.BENCH_SECONDS ?? 20),
    adminUrl:
      process.env.BENCH_DATABASE_URL ??
      process.env.TEST_DATABASE_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres',
  }).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
