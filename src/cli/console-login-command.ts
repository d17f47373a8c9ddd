import { openAdminServices } from '../app/admin.js';
import type { Config } from '../config.js';
import { SlipwayError } from '../errors.js';
import { CHAT_PLATFORMS, type ChatPlatform } from '../vocabulary.js';

export const CONSOLE_LOGIN_USAGE = 'slipway console-login <platform:workspace:user>';

/**
 * A one-time sign-in link to the web console for a chat identity (printed alone on stdout, so
 * `open "$(slipway console-login web:local:ada)"` works). The CLI holds the database's authority,
 * like `slipway token create`; people on a chat platform get their own with `/slipway console`.
 */
export async function consoleLoginCommand(argv: string[], config: Config): Promise<number> {
  const [who, ...rest] = argv;
  if (!who || rest.length) {
    process.stderr.write(`Usage: ${CONSOLE_LOGIN_USAGE}\n`);
    return 1;
  }
  const [platform, workspace, userId, ...extra] = who.split(':');
  if (
    !platform ||
    !workspace ||
    !userId ||
    extra.length ||
    !(CHAT_PLATFORMS as readonly string[]).includes(platform)
  ) {
    throw new SlipwayError(
      'invalid_input',
      `The identity must be platform:workspace:user with platform one of ${CHAT_PLATFORMS.join(', ')} (e.g. web:local:ada).`,
    );
  }
  const admin = await openAdminServices(config);
  try {
    const link = await admin.consoleSignIn.issueLink(admin.actor, {
      platform: platform as ChatPlatform,
      workspace,
      userId,
      displayName: userId,
    });
    process.stdout.write(`${link.url}\n`);
    process.stderr.write(
      `A sign-in link for ${who}: it works once, until ${link.expiresAt.toISOString()} (15 minutes).\n`,
    );
    return 0;
  } finally {
    await admin.close();
  }
}
