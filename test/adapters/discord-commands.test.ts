import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.js';
import { type DiscordFake, startDiscordFake } from '../support/discord-fake.js';

const run = promisify(execFile);

/** `slipway discord-commands`, as an operator runs it, against the Discord stand-in. */
describe('slipway discord-commands', () => {
  let discord: DiscordFake;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'discord-commands', ...args], {
      // A hung CLI fails its test and is killed, never left running after the suite.
      timeout: 50_000,
      killSignal: 'SIGKILL',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'silent',
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_PUBLIC_KEY: discord.publicKeyHex,
        DISCORD_API_URL: discord.apiUrl,
        ...env,
      },
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);

  beforeAll(async () => {
    discord = await startDiscordFake();
  });
  afterAll(async () => {
    await discord?.close();
  });

  it('--print prints the registration JSON and calls nothing', async () => {
    const { stdout } = await cli(['--print']);
    const commands = JSON.parse(stdout) as { name: string; options?: { name: string }[] }[];
    expect(commands.map((c) => c.name)).toContain('deploy');
    expect(commands.map((c) => c.name)).toContain('slipway');
    expect(commands.find((c) => c.name === 'env')?.options?.map((o) => o.name)).toEqual(['list', 'show']);
    expect(discord.requests).toHaveLength(0);
  });

  it('bulk-overwrites the guild commands, or the global ones, with the bot token', async () => {
    const guild = await cli(['--guild', '1170000000000000001'], { DISCORD_BOT_TOKEN: discord.botToken });
    expect(guild.stdout).toMatch(
      new RegExp(
        `^Registered ${COMMANDS.length + 1} commands in server 1170000000000000001: /deploy /promote`,
      ),
    );
    const put = discord.requests.find((r) => r.method === 'PUT');
    expect(put?.path).toBe(`/applications/${discord.applicationId}/guilds/1170000000000000001/commands`);
    expect(put?.headers.authorization).toBe(`Bot ${discord.botToken}`);
    expect(discord.registered.get('1170000000000000001')).toHaveLength(COMMANDS.length + 1);

    const global = await cli([], { DISCORD_BOT_TOKEN: discord.botToken });
    expect(global.stdout).toContain(`Registered ${COMMANDS.length + 1} commands globally`);
    expect(discord.requests.filter((r) => r.method === 'PUT').at(-1)?.path).toBe(
      `/applications/${discord.applicationId}/commands`,
    );
  });

  it('gives up after --timeout when Discord keeps it waiting (a long rate limit), and says so', async () => {
    discord.rateLimitNext((method) => method === 'PUT', 3600);
    const started = Date.now();
    const waited = (await cli(['--guild', '1170000000000000001', '--timeout', '2'], {
      DISCORD_BOT_TOKEN: discord.botToken,
    })) as { code?: number; stderr: string; stdout: string };
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain('Discord did not take the commands: no answer within 2 s');
    expect(waited.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(30_000);
    const bad = (await cli(['--timeout', 'soon'], { DISCORD_BOT_TOKEN: discord.botToken })) as {
      code?: number;
      stderr: string;
    };
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--timeout takes a number of seconds from 1 to 3600');
  });

  it('says what is missing or wrong, and exits 1', async () => {
    const noToken = (await cli([])) as { code?: number; stderr: string };
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('needs DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN');
    const badGuild = (await cli(['--guild', 'acme'], { DISCORD_BOT_TOKEN: discord.botToken })) as {
      code?: number;
      stderr: string;
    };
    expect(badGuild.code).toBe(1);
    expect(badGuild.stderr).toContain('--guild takes a server (guild) id');
    const refused = (await cli([], { DISCORD_BOT_TOKEN: `${discord.botToken}-wrong` })) as {
      code?: number;
      stderr: string;
    };
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Discord did not take the commands: Discord 401');
  });
});
