import type { FastifyInstance } from 'fastify';
import type { ChatAdapter, FetchLike, NotificationSender } from '../src/chat/index.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { createOutboundGuard } from '../src/net/outbound-guard.js';
import { DiscordChatAdapter } from './discord/app.js';
import { createDiscordNotificationSender } from './discord/notification-sender.js';
import { createEmailNotificationSender } from './email/notification-sender.js';
import { createGitHubNotificationSender } from './github/notification-sender.js';
import type { DeliveryLedger, RepositoryEvents } from './github/ports.js';
import { GitHubWebhookReceiver } from './github/webhook-receiver.js';
import { SlackChatAdapter } from './slack/app.js';
import { createSlackNotificationSender } from './slack/notification-sender.js';
import { TeamsChatAdapter } from './teams/app.js';
import { TeamsBot } from './teams/bot.js';
import { createTeamsNotificationSender } from './teams/notification-sender.js';
import { resolveTeamsSettings, type TeamsConfig } from './teams/settings.js';
import { WebConsoleAdapter } from './web/console.js';
import { createWebhookNotificationSender } from './webhook/notification-sender.js';

/**
 * The adapter registry: which platforms this Slipway talks to, from its settings. The one place
 * that knows every platform folder; the app wires what it returns, and a new platform adds its
 * folder and a line here.
 */

/**
 * The chat platforms that are configured: each receives commands and clicks and shows replies.
 * The web console is always there: nobody gets in without a sign-in link, which only the CLI
 * (`slipway console-login`) or a person's own chat platform (`/slipway console`) can issue.
 */
export function chatAdapters(config: Config, logger: Logger): { adapters: ChatAdapter[] } {
  const adapters: ChatAdapter[] = [];
  if (config.SLACK_BOT_TOKEN) {
    adapters.push(
      new SlackChatAdapter(
        {
          botToken: config.SLACK_BOT_TOKEN,
          signingSecret: config.SLACK_SIGNING_SECRET,
          appToken: config.SLACK_APP_TOKEN,
          apiUrl: config.SLACK_API_URL,
          timeoutMs: config.SLIPWAY_NOTIFY_TIMEOUT_MS,
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
  const teams = teamsConfig(config);
  if (teams) adapters.push(new TeamsChatAdapter(teams, logger));
  adapters.push(new WebConsoleAdapter({ publicUrl: config.publicUrl }, logger));
  return { adapters };
}

/** An endpoint that receives a platform's events and is not a chat (GitHub's webhooks). */
export interface InboundAdapter {
  readonly path: string;
  mount(http: FastifyInstance): void;
}

/**
 * The webhook receivers that are configured, fed through neutral ports the wiring connects to
 * the core: GitHub's (`POST /github/webhook`) when GITHUB_WEBHOOK_SECRET is set.
 */
export function inboundAdapters(
  config: Config,
  logger: Logger,
  ports: { repositories: RepositoryEvents; deliveries: DeliveryLedger },
): InboundAdapter[] {
  const adapters: InboundAdapter[] = [];
  if (config.GITHUB_WEBHOOK_SECRET) {
    adapters.push(
      new GitHubWebhookReceiver(
        { secret: config.GITHUB_WEBHOOK_SECRET },
        { events: ports.repositories, deliveries: ports.deliveries },
        logger.child({ component: 'github' }),
      ),
    );
  }
  return adapters;
}

/** The Teams bot's settings, when TEAMS_APP_ID is set. */
function teamsConfig(config: Config): TeamsConfig | null {
  if (!config.TEAMS_APP_ID) return null;
  return {
    appId: config.TEAMS_APP_ID,
    appPassword: config.TEAMS_APP_PASSWORD,
    tenantId: config.TEAMS_TENANT_ID,
    appType: config.TEAMS_APP_TYPE,
    openIdMetadataUrl: config.TEAMS_OPENID_METADATA_URL,
    tokenIssuer: config.TEAMS_TOKEN_ISSUER,
    tokenUrl: config.TEAMS_TOKEN_URL,
    oauthScope: config.TEAMS_OAUTH_SCOPE,
    serviceUrl: config.TEAMS_SERVICE_URL,
  };
}

/**
 * Every platform's notification sender; each says itself which targets it can serve here. The
 * URLs users give (incoming webhooks, webhook channels) are called through `outbound`, the
 * outbound guard's fetch (the app passes its one guard; a strict one from the settings otherwise).
 */
export function notificationSenders(
  config: Config,
  outbound: FetchLike = createOutboundGuard({ allow: config.SLIPWAY_ALLOW_PRIVATE_TARGETS }).fetch,
): NotificationSender[] {
  return [
    createSlackNotificationSender({
      botToken: config.SLACK_BOT_TOKEN,
      apiUrl: config.SLACK_API_URL,
      fetch: outbound,
    }),
    createDiscordNotificationSender({
      botToken: config.DISCORD_BOT_TOKEN,
      apiUrl: config.DISCORD_API_URL,
      fetch: outbound,
    }),
    createTeamsNotificationSender({ fetch: outbound, bot: teamsBot(config) }),
    createWebhookNotificationSender({ fetch: outbound }),
    createEmailNotificationSender({
      smtpUrl: config.SLIPWAY_SMTP_URL,
      from: config.SLIPWAY_MAIL_FROM,
      timeoutMs: config.SLIPWAY_NOTIFY_TIMEOUT_MS,
    }),
    createGitHubNotificationSender({
      token: config.GITHUB_TOKEN,
      apiUrl: config.GITHUB_API_URL,
      publicUrl: config.publicUrl,
    }),
  ];
}

/** The bot that posts notices to Teams channels, when the Teams bot is configured. */
function teamsBot(config: Config): TeamsBot | undefined {
  const teams = teamsConfig(config);
  return teams ? new TeamsBot(resolveTeamsSettings(teams)) : undefined;
}
