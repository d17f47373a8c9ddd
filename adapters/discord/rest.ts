import { API } from '@discordjs/core/http-only';
import { DiscordAPIError, HTTPError, type RateLimitData, REST, RESTEvents } from '@discordjs/rest';
import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord-api-types/v10';
import type { Logger } from '../../src/logger.js';

export const DISCORD_API_DEFAULT = 'https://discord.com/api/v10';

/** `https://discord.com/api/v10` → the REST client's base (`…/api`) and version (`10`). */
export function restBase(apiUrl: string | undefined): { api: string; version: string } {
  const url = new URL(apiUrl ?? DISCORD_API_DEFAULT);
  const path = url.pathname.replace(/\/+$/, '');
  const versioned = /^(.*)\/v(\d+)$/.exec(path);
  return { api: `${url.origin}${versioned ? versioned[1] : path}`, version: versioned?.[2] ?? '10' };
}

/** Logs what the REST client does about rate limits: Discord's 429s as warnings, its own pacing as debug. */
function watchRateLimits(rest: REST, logger: Logger): void {
  rest.on(RESTEvents.RateLimited, (limit: RateLimitData) => {
    logger.debug(
      { route: limit.route, global: limit.global, retryAfterMs: limit.retryAfter },
      'pacing Discord requests (rate limit)',
    );
  });
  rest.on(RESTEvents.Debug, (message: string) => {
    if (!message.includes('Encountered unexpected 429 rate limit')) return;
    const field = (name: string) => new RegExp(`${name}\\s*:\\s*(.+)`).exec(message)?.[1]?.trim();
    logger.warn(
      { route: field('Bucket'), global: field('Global') === 'true', retryAfter: field('Retry After') },
      'Discord answered 429: waiting as it asks',
    );
  });
}

/**
 * discord.js's REST clients and their HTTP-only APIs. Each queues per route, honours
 * X-RateLimit-* and 429s (`Retry-After`, global and per route) by waiting, and retries 5xx and
 * resets. Two clients, because Discord limits them differently: `bot` carries the bot token and
 * paces itself to the bot's global limit (50 requests/s); `interactions` edits responses and
 * sends follow-ups through interaction webhooks, which need no token and which Discord does not
 * count against the global limit (only a 429 Discord sends can hold it back).
 */
export function discordApi(options: {
  apiUrl?: string | undefined;
  botToken?: string | undefined;
  logger?: Logger;
}) {
  const base = { ...restBase(options.apiUrl), timeout: 10_000 };
  const rest = new REST(base);
  if (options.botToken) rest.setToken(options.botToken);
  const webhooks = new REST({ ...base, globalRequestsPerSecond: Number.POSITIVE_INFINITY });
  if (options.logger) {
    watchRateLimits(rest, options.logger);
    watchRateLimits(webhooks, options.logger);
  }
  return { rest, api: new API(rest), webhooks, interactions: new API(webhooks).interactions };
}

/**
 * Discord refused an interaction token: it expired (401, code 50027 Invalid Webhook Token) or
 * its webhook is unknown (404, 10015). The bot can still edit the message.
 */
export function isTokenRefused(error: unknown): boolean {
  if (!(error instanceof DiscordAPIError)) return false;
  return error.status === 401 || error.code === 50027 || error.code === 10015;
}

/** Discord answered that the message is gone (deleted): nothing to edit. */
export function isUnknownMessage(error: unknown): boolean {
  return error instanceof DiscordAPIError && (error.code === 10008 || error.status === 404);
}

/** A short cause for logs and health: Discord's code and message, the HTTP status, or the network error. */
export function describeDiscordError(error: unknown): string {
  if (error instanceof DiscordAPIError) return `Discord ${error.status} (${error.code}): ${error.message}`;
  if (error instanceof HTTPError) return `Discord ${error.status}: ${error.message}`;
  const failure = error as { code?: string; cause?: { code?: string } } | null;
  const code = failure?.code ?? failure?.cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * `slipway discord-commands`: bulk-overwrites the application's commands, globally (production:
 * every server the app is installed in) or in one guild (at once, for a quick test).
 */
export async function registerDiscordCommands(
  options: {
    applicationId: string;
    botToken: string;
    apiUrl?: string | undefined;
    guildId?: string | undefined;
  },
  body: RESTPostAPIChatInputApplicationCommandsJSONBody[],
): Promise<{ name: string; id: string }[]> {
  const { api } = discordApi(options);
  const registered = options.guildId
    ? await api.applicationCommands.bulkOverwriteGuildCommands(options.applicationId, options.guildId, body)
    : await api.applicationCommands.bulkOverwriteGlobalCommands(options.applicationId, body);
  return registered.map((command) => ({ name: command.name, id: command.id }));
}
