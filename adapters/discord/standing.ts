import type { API } from '@discordjs/core/http-only';
import { DiscordAPIError, HTTPError, type REST } from '@discordjs/rest';
import type { AdapterHealth } from '../../src/chat/index.js';
import type { Logger } from '../../src/logger.js';
import { describeDiscordError } from './rest.js';

const IDENTITY_RETRY_MAX_MS = 5 * 60_000;

/**
 * The adapter's standing with Discord, for /readyz: who the bot token belongs to (checked at
 * start off the request path, retried with back-off while Discord does not answer or refuses),
 * and whether Discord is reachable — a network failure of any call marks it down, with its
 * cause, until a call gets through.
 */
export class DiscordStanding {
  private identity: AdapterHealth = { status: 'starting', since: new Date() };
  private unreachable: { detail: string; since: Date } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: {
      applicationId: string;
      botToken: string | undefined;
      /** The bot's REST client and API. */
      rest: REST;
      api: API;
      logger: Logger;
    },
  ) {}

  health(): AdapterHealth {
    return this.unreachable
      ? { status: 'down', detail: this.unreachable.detail, since: this.unreachable.since }
      : this.identity;
  }

  /** An outbound call, watched. */
  async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.unreachable = null;
      return result;
    } catch (error) {
      // Discord answered (a refusal is the request's problem, not Discord's standing).
      if (error instanceof DiscordAPIError || (error instanceof HTTPError && error.status < 500)) {
        this.unreachable = null;
      } else if (!this.unreachable) {
        const cause = describeDiscordError(error);
        this.unreachable = { detail: `Discord API unreachable: ${cause}`, since: new Date() };
        this.options.logger.error({ cause }, 'Discord API unreachable');
      }
      throw error;
    }
  }

  /** Who the bot token belongs to; never awaited by the start, never on a request's path. */
  check(attempt = 0): void {
    const { botToken, applicationId, rest, api, logger } = this.options;
    if (!botToken) {
      this.identity = {
        status: 'up',
        detail:
          'no DISCORD_BOT_TOKEN: messages are edited through interaction tokens only (15 minutes, in this process)',
        since: new Date(),
      };
      return;
    }
    void (async () => {
      try {
        // A 401 makes the REST client drop its token; each try starts with it again.
        rest.setToken(botToken);
        const application = await this.call(() => api.applications.getCurrent());
        if (application.id !== applicationId) {
          this.down(
            `the bot token belongs to application ${application.id}, not DISCORD_APPLICATION_ID ${applicationId}`,
            attempt,
          );
          return;
        }
        this.identity = { status: 'up', detail: `application ${application.name}`, since: new Date() };
        logger.info({ application: application.name }, 'Discord bot identity checked');
      } catch (error) {
        this.down(describeDiscordError(error), attempt);
      }
    })();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private down(detail: string, attempt: number): void {
    if (this.stopped) return;
    if (this.identity.status !== 'down' || this.identity.detail !== detail) {
      this.identity = { status: 'down', detail, since: new Date() };
    }
    const retryMs = Math.min(IDENTITY_RETRY_MAX_MS, 2_000 * 2 ** attempt);
    this.options.logger.warn({ cause: detail, retryMs }, 'Discord bot identity check failed; retrying');
    this.timer = setTimeout(() => this.check(attempt + 1), retryMs);
    this.timer.unref();
  }
}
