import { parseArgs } from 'node:util';
import { discordCommands } from '../../adapters/discord/commands.js';
import { describeDiscordError, registerDiscordCommands } from '../../adapters/discord/rest.js';
import { COMMANDS } from '../../commands/index.js';
import type { Config } from '../config.js';

/** Longest the registration may take by default, retries and rate-limit waits included. */
const DEFAULT_TIMEOUT_SECONDS = 60;

/**
 * `slipway discord-commands [--guild ID] [--print] [--timeout SECONDS]`: the application commands
 * generated from the command files, bulk-overwritten on Discord — in one server (`--guild`, there
 * at once: for a quick test) or globally (every server the app is installed in: production).
 * `--print` prints the JSON and calls nothing; `--timeout` is how long to wait for Discord.
 */
export async function discordCommandsCommand(argv: string[], config: Config): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { guild: { type: 'string' }, print: { type: 'boolean' }, timeout: { type: 'string' } },
  });
  const body = discordCommands(COMMANDS);
  if (values.print) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const guildId = values.guild;
  if (guildId !== undefined && !/^\d{15,22}$/.test(guildId)) {
    process.stderr.write('slipway: --guild takes a server (guild) id: digits, from "Copy Server ID".\n');
    return 1;
  }
  const timeoutSeconds = Number(values.timeout ?? DEFAULT_TIMEOUT_SECONDS);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    process.stderr.write('slipway: --timeout takes a number of seconds from 1 to 3600.\n');
    return 1;
  }
  const applicationId = config.DISCORD_APPLICATION_ID;
  const botToken = config.DISCORD_BOT_TOKEN;
  if (!applicationId || !botToken) {
    process.stderr.write(
      'slipway: registering commands needs DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN (or use --print).\n',
    );
    return 1;
  }
  // The REST client retries and waits out rate limits on its own (Discord limits how often
  // commands may be created, and can ask for a wait of hours); an operator's command still ends,
  // with a reason, instead of hanging on an API that does not answer in time.
  const deadline = setTimeout(() => {
    process.stderr.write(
      `slipway: Discord did not take the commands: no answer within ${timeoutSeconds} s (it may be asking to wait out a rate limit; try again later).\n`,
    );
    process.exit(1);
  }, timeoutSeconds * 1000);
  deadline.unref();
  try {
    const registered = await registerDiscordCommands(
      { applicationId, botToken, apiUrl: config.DISCORD_API_URL, guildId },
      body,
    );
    process.stdout.write(
      `Registered ${registered.length} commands ${guildId ? `in server ${guildId}` : 'globally'}: ${registered
        .map((command) => `/${command.name}`)
        .join(' ')}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`slipway: Discord did not take the commands: ${describeDiscordError(error)}\n`);
    return 1;
  } finally {
    clearTimeout(deadline);
  }
}
