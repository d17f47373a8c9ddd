import { strToU8, zipSync } from 'fflate';
import type { Command } from '../../src/chat/index.js';
import { teamsIcons } from './icons.js';

/** The Teams app manifest schema Slipway's package follows. */
export const TEAMS_MANIFEST_VERSION = '1.17';
/** Teams shows at most this many commands per command list; `help` lists them all. */
const COMMANDS_SHOWN = 10;

/**
 * The commands the manifest lists, from the command files: those with a slash command elsewhere
 * first (`deploy`, `promote`), then the rest in their order, `help` always among them.
 */
export function listedCommands(commands: readonly Command[]): Command[] {
  const help = commands.find((command) => command.name === 'help');
  const ordered = [
    ...commands.filter((command) => command.slash),
    ...commands.filter((command) => !command.slash && command !== help),
  ];
  return [...ordered.slice(0, help ? COMMANDS_SHOWN - 1 : COMMANDS_SHOWN), ...(help ? [help] : [])];
}

/** The Teams app manifest for the bot (`bots[0].botId` = the app id), generated from the command files. */
export function teamsManifest(options: { appId: string; commands: readonly Command[]; publicUrl: string }) {
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const scopes = ['personal', 'team', 'groupChat'];
  return {
    $schema: `https://developer.microsoft.com/en-us/json-schemas/teams/v${TEAMS_MANIFEST_VERSION}/MicrosoftTeams.schema.json`,
    manifestVersion: TEAMS_MANIFEST_VERSION,
    version: '1.0.0',
    id: options.appId,
    developer: {
      name: 'Slipway',
      websiteUrl: publicUrl,
      privacyUrl: publicUrl,
      termsOfUseUrl: publicUrl,
    },
    name: { short: 'Slipway', full: 'Slipway: deploys from chat' },
    description: {
      short: 'Deploy, promote and approve releases from Teams.',
      full: 'Type "deploy api staging" or "promote api staging production" to the bot; approvers approve or reject on the card, which shows the deployment as it runs. Type "help" for every command.',
    },
    icons: { color: 'color.png', outline: 'outline.png' },
    accentColor: '#2563EB',
    bots: [
      {
        botId: options.appId,
        scopes,
        supportsFiles: false,
        isNotificationOnly: false,
        commandLists: [
          {
            scopes,
            commands: listedCommands(options.commands).map((command) => ({
              title: command.name.slice(0, 32),
              description: `${command.summary}: ${command.usage[0] ?? command.name}`.slice(0, 128),
            })),
          },
        ],
      },
    ],
    permissions: ['identity', 'messageTeamMembers'],
    validDomains: [new URL(publicUrl).host],
  };
}

/** The package to upload to Teams: the manifest and its two icons at the root of a zip. */
export function teamsAppPackage(options: { appId: string; commands: readonly Command[]; publicUrl: string }) {
  const manifest = teamsManifest(options);
  const icons = teamsIcons();
  const zip = zipSync(
    {
      'manifest.json': strToU8(`${JSON.stringify(manifest, null, 2)}\n`),
      'color.png': icons.color,
      'outline.png': icons.outline,
    },
    { level: 9 },
  );
  return { manifest, icons, zip };
}
