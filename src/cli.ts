import './node-version-check.js';
import { parseArgs } from 'node:util';
import { startSlipway } from './app/start.js';
import { loadConfig, SETTINGS_HELP } from './config.js';
import { openDatabase } from './db/database.js';
import { isSlipwayError } from './errors.js';
import { createLogger } from './logger.js';

const USAGE = `Slipway — chat-ops deploys: /deploy and /promote from chat, git releases over SSH.

Usage: slipway <command>

Commands:
  start              run the service (HTTP, workers, schedules); migrations are applied first
  migrate            apply pending database migrations and exit
  migration:check    exit 1 if the entities and the database schema differ (a migration is missing)
  migration:create   write a new migration for the difference (developers)
  slack-manifest     print a Slack app manifest (JSON) generated from the chat commands;
                     --socket-mode for a Socket Mode app
  teams-manifest [--print] [--out app.zip]
                     write the Teams app package (manifest and icons, zipped) for TEAMS_APP_ID;
                     --print prints the manifest
  discord-commands [--guild <id>] [--print] [--timeout <seconds>]
                     register the Discord application commands generated from the chat
                     commands (bulk overwrite): globally, or in one server with --guild;
                     --print prints the JSON and calls nothing
  apply -f <file> [--yes] [--prune]
                     configuration as code: plan the changes a slipway.yml makes to projects,
                     servers, environments, hooks, folders, members and notification channels;
                     --yes applies them; --prune also deletes what the file's lists leave out
  token create --scopes <scope,…|all|none> [--name <n>] [--member <platform:workspace:user>]
        [--expires-in-days <n>]
                     create a REST API token (printed once); token list; token revoke <id|prefix>
  console-login <platform:workspace:user>
                     print a one-time sign-in link to the web console for that chat identity
                     (valid 15 minutes, used once); in chat, /slipway console does the same
  --help             this text

Settings (environment variables):
${SETTINGS_HELP.map(([name, meaning]) => `  ${name.padEnd(31)} ${meaning}`).join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' }, 'socket-mode': { type: 'boolean' } },
  });
  const command = positionals[0];
  if (values.help || !command || command === 'help') {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 1;
  }

  const config = loadConfig();
  const logger = createLogger(config);

  // Commands with options of their own parse the rest of the line themselves.
  if (
    command === 'apply' ||
    command === 'token' ||
    command === 'console-login' ||
    command === 'teams-manifest' ||
    command === 'discord-commands'
  ) {
    const rest = argv.slice(argv.indexOf(command) + 1);
    if (command === 'discord-commands') {
      return (await import('./cli/discord-commands.js')).discordCommandsCommand(rest, config);
    }
    if (command === 'apply') return (await import('./cli/apply-command.js')).applyCommand(rest, config);
    if (command === 'console-login')
      return (await import('./cli/console-login-command.js')).consoleLoginCommand(rest, config);
    if (command === 'teams-manifest') {
      return (await import('./cli/teams-manifest-command.js')).teamsManifestCommand(rest, config);
    }
    return (await import('./cli/token-command.js')).tokenCommand(rest, config);
  }

  if (command === 'slack-manifest') {
    const { manifestWarnings, slackManifest } = await import('../adapters/slack/manifest.js');
    const { COMMANDS } = await import('../commands/index.js');
    const socketMode = values['socket-mode'] === true || !!config.SLACK_APP_TOKEN;
    for (const warning of manifestWarnings(config.publicUrl, { socketMode })) {
      process.stderr.write(`warning: ${warning}\n`);
    }
    process.stdout.write(
      `${JSON.stringify(slackManifest(COMMANDS, config.publicUrl, { socketMode }), null, 2)}\n`,
    );
    return 0;
  }

  switch (command) {
    case 'start': {
      const slipway = await startSlipway(config, logger);
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'shutting down');
          const force = setTimeout(() => {
            logger.error('shutdown took too long; exiting');
            process.exit(1);
          }, config.SLIPWAY_SHUTDOWN_TIMEOUT_MS + 5000);
          force.unref();
          void slipway.stop().then(resolve);
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
      logger.info('stopped');
      return 0;
    }
    case 'migrate': {
      // openDatabase applies pending migrations.
      const database = await openDatabase(config, logger);
      await database.close();
      return 0;
    }
    case 'migration:check':
    case 'migration:create': {
      const database = await openDatabase(config, logger);
      try {
        if (command === 'migration:check') {
          const drifts = await database.orm.migrator.checkSchema();
          process.stdout.write(
            drifts
              ? 'Schema drift: the entities need a new migration.\n'
              : 'No drift: the schema matches the entities.\n',
          );
          return drifts ? 1 : 0;
        }
        const result = await database.orm.migrator.create('migrations', false, false, positionals[1]);
        process.stdout.write(
          result.fileName
            ? `Wrote migrations/${result.fileName}; list it in migrations/index.ts.\n`
            : 'No changes: nothing to migrate.\n',
        );
        return 0;
      } finally {
        await database.close();
      }
    }
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isSlipwayError(error)) {
      process.stderr.write(`slipway: ${error.message}\n`);
    } else {
      process.stderr.write(`slipway: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    process.exit(1);
  },
);
