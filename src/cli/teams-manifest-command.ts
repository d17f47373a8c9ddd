import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { teamsAppPackage } from '../../adapters/teams/manifest.js';
import { COMMANDS } from '../../commands/index.js';
import type { Config } from '../config.js';
import { SlipwayError } from '../errors.js';

export const TEAMS_MANIFEST_USAGE = 'slipway teams-manifest [--print] [--out app.zip]';

/**
 * The Teams app package to upload (Teams admin center, or "Upload a custom app"): manifest.json
 * (the bot's app id, scopes personal/team/groupChat, the command lists from the command files,
 * validDomains from SLIPWAY_PUBLIC_URL) and the two icons, zipped. `--print` prints the manifest;
 * the zip is written to `--out` (default slipway-teams.zip) unless only `--print` is asked.
 */
export async function teamsManifestCommand(argv: string[], config: Config): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { print: { type: 'boolean' }, out: { type: 'string' } },
  });
  if (!config.TEAMS_APP_ID) {
    throw new SlipwayError(
      'config_invalid',
      'TEAMS_APP_ID is not set: the package names the bot by its Microsoft App ID (Azure Bot Service → Configuration).',
    );
  }
  const pkg = teamsAppPackage({
    appId: config.TEAMS_APP_ID,
    commands: COMMANDS,
    publicUrl: config.publicUrl,
  });
  if (values.print) process.stdout.write(`${JSON.stringify(pkg.manifest, null, 2)}\n`);
  if (values.out !== undefined || !values.print) {
    const out = resolve(values.out ?? 'slipway-teams.zip');
    await writeFile(out, pkg.zip);
    process.stderr.write(
      `Wrote ${out} (manifest.json, color.png, outline.png). Upload it in Teams: Apps → Manage your apps → Upload an app.\n`,
    );
  }
  return 0;
}
