import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Slipway, startSlipway } from '../../src/app/start.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type DiscordFake, startDiscordFake } from '../support/discord-fake.js';
import { discordUser, ping, slashCommand, stringOptions } from '../support/discord-interactions.js';

/**
 * Discord's API unreachable (nothing listens where DISCORD_API_URL points): every interaction is
 * still answered at once, the work that needs Discord fails and is logged with its cause, the
 * adapter shows down in /readyz, and the process keeps serving.
 */
describe('Discord API down', () => {
  let database: TestDatabase;
  let discord: DiscordFake;
  let slipway: Slipway;
  let url: string;
  const logs: Record<string, unknown>[] = [];
  const dev = discordUser('1160000000000000021', 'dev');

  beforeAll(async () => {
    database = await createTestDatabase();
    // The stand-in signs the interactions; its API is closed before Slipway starts.
    discord = await startDiscordFake();
    await discord.close();
    const logger = createLogger(
      { LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    slipway = await startSlipway(
      loadConfig({
        DATABASE_URL: database.url,
        SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
        PORT: '0',
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_PUBLIC_KEY: discord.publicKeyHex,
        DISCORD_BOT_TOKEN: discord.botToken,
        DISCORD_API_URL: discord.apiUrl,
      }),
      logger,
    );
    const address = slipway.http.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await slipway?.stop();
    await database?.drop();
  });

  it('acks every interaction at once, logs each failure with its cause, and keeps serving', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        discord.interact(
          url,
          slashCommand(
            discord.applicationId,
            dev,
            i % 2 ? 'status' : 'deploy',
            stringOptions(i % 2 ? { project: 'nope' } : { project: 'nope', env: 'staging' }),
          ),
        ),
      ),
    );
    const elapsed = performance.now() - started;
    expect(answers.every((answer) => answer.status === 200 && answer.body?.type === 5)).toBe(true);
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(1000);
    expect(elapsed).toBeLessThan(2000);

    // The refusals ("no project nope") could not reach Discord: each is logged with why.
    const deadline = Date.now() + 20_000;
    const failures = () => logs.filter((line) => line.msg === 'could not answer a Discord interaction');
    while (failures().length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(failures()).toHaveLength(20);
    expect(failures().every((line) => String(line.cause).includes('ECONNREFUSED'))).toBe(true);
    expect(
      logs.some(
        (line) => line.msg === 'Discord API unreachable' && String(line.cause).includes('ECONNREFUSED'),
      ),
    ).toBe(true);

    const ready = (await (await fetch(`${url}/readyz`)).json()) as {
      status: string;
      adapters: Record<string, { status: string; detail: string }>;
    };
    expect(ready.status).toBe('ready');
    expect(ready.adapters.discord?.status).toBe('down');
    expect(ready.adapters.discord?.detail).toContain('ECONNREFUSED');

    const pong = await discord.interact(url, ping(discord.applicationId));
    expect(pong.body).toEqual({ type: 1 });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
