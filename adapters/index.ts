import { randomBytes } from 'node:crypto';
import type { ChatAdapter, NotificationSender } from '../src/chat/index.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { DiscordChatAdapter } from './discord/app.js';
import { createDiscordNotificationSender } from './discord/notification-sender.js';
import { createEmailNotificationSender } from './email/notification-sender.js';
import { SlackChatAdapter } from './slack/app.js';
import { createSlackNotificationSender } from './slack/notification-sender.js';
import { createTeamsNotificationSender } from './teams/notification-sender.js';
import { WebConsoleAdapter } from './web/console.js';
import { createWebhookNotificationSender } from './webhook/notification-sender.js';

/**
 * The adapter registry: which platforms this Slipway talks to, from its settings. The one place
 * that knows every platform folder; the app wires what it returns, and a new platform adds its
 * folder and a line here.
 */

/**
 * The chat platforms that are configured: each receives commands and clicks and shows replies.
 * `webToken` is the web console's login token, when the console is on.
 */
export function chatAdapters(
  config: Config,
  logger: Logger,
): { adapters: ChatAdapter[]; webToken: string | null } {
  const adapters: ChatAdapter[] = [];
  if (config.SLACK_BOT_TOKEN) {
    adapters.push(
      new SlackChatAdapter(
        {
          botToken: config.SLACK_BOT_TOKEN,
          signingSecret: config.SLACK_SIGNING_SECRET,
          appToken: config.SLACK_APP_TOKEN,
          apiUrl: config.SLACK_API_URL,
        },
        logger,
      ),
    );
  }
  if (config.DISCORD_APPLICATION_ID && config.DISCORD_PUBLIC_KEY) {
    adapters.push(
      new DiscordChatAdapter(
        {
          applicationId: config.DISCORD_APPLICATION_ID,
          publicKey: config.DISCORD_PUBLIC_KEY,
          botToken: config.DISCORD_BOT_TOKEN,
          apiUrl: config.DISCORD_API_URL,
        },
        logger,
      ),
    );
  }
  const webToken = consoleToken(config);
  if (webToken) adapters.push(new WebConsoleAdapter(webToken, logger));
  return { adapters, webToken };
}

/**
 * The web console's login token: SLIPWAY_WEB_TOKEN, or one made for this run in embedded mode
 * (a laptop trying Slipway); null (console off) otherwise.
 */
function consoleToken(config: Config): string | null {
  return config.SLIPWAY_WEB_TOKEN ?? (config.embeddedDatabase ? randomBytes(18).toString('base64url') : null);
}

/** Every platform's notification sender; each says itself which targets it can serve here. */
export function notificationSenders(config: Config): NotificationSender[] {
  return [
    createSlackNotificationSender({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL }),
    createDiscordNotificationSender({ botToken: config.DISCORD_BOT_TOKEN, apiUrl: config.DISCORD_API_URL }),
    createTeamsNotificationSender(),
    createWebhookNotificationSender(),
    createEmailNotificationSender({
      smtpUrl: config.SLIPWAY_SMTP_URL,
      from: config.SLIPWAY_MAIL_FROM,
      timeoutMs: config.SLIPWAY_NOTIFY_TIMEOUT_MS,
    }),
  ];
}
