import {
  type Activity,
  CallerIdConstants,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationReference,
  type TeamsChannelAccount,
  type TurnContext,
} from 'botbuilder';
import {
  AuthenticationConstants,
  ClaimsIdentity,
  type ConnectorClient,
  type ServiceClientCredentialsFactory,
} from 'botframework-connector';
import type { Logger } from '../../src/logger.js';
import { credentialsFactoryFor } from './credentials.js';
import type { TeamsSettings } from './settings.js';

/**
 * Where a Teams message lives, as stored with it (PostedMessage.reference) so that any replica,
 * also after a restart, can reach it again: botbuilder's conversation reference, flattened.
 */
export interface TeamsReference {
  serviceUrl: string;
  conversationId: string;
  tenantId: string;
  /** The team, for a channel conversation (its roster is the team's). */
  teamId?: string;
  /** `personal`, `groupChat` or `channel`. */
  conversationType?: string;
  /** The bot as the conversation knows it (`28:<app id>`). */
  botId?: string;
}

/** What botbuilder answered to an inbound activity, and whether our turn ran at all. */
export interface TurnOutcome {
  /** False: botbuilder refused the request before the turn (its JWT), whatever status it chose. */
  ran: boolean;
  status: number;
  body?: unknown;
}

const RETRIES = 3;
const MAX_DELAY_MS = 30_000;

/**
 * The Teams bot as botbuilder sees it: a CloudAdapter over ConfigurationBotFrameworkAuthentication
 * (every inbound activity's JWT checked against the OpenID metadata: issuer, signature, audience =
 * the app id, the service URL claim) and the Bot Connector client it makes for outbound calls.
 * Outbound calls are proactive: botbuilder's Connector client for the stored reference's service
 * URL, so they need no inbound request; a 429 or a 5xx is retried with back-off here on top of
 * the SDK's own retries (which skip a 429 without Retry-After), so a platform hiccup never
 * reaches the caller as long as it passes within a minute or so.
 */
export class TeamsBot {
  readonly adapter: CloudAdapter;
  readonly credentials: ServiceClientCredentialsFactory;
  private readonly auth: ConfigurationBotFrameworkAuthentication;
  private readonly clients = new Map<string, Promise<ConnectorClient>>();
  private closing = false;

  constructor(
    readonly settings: TeamsSettings,
    private readonly logger?: Logger,
  ) {
    this.credentials = credentialsFactoryFor(settings);
    this.auth = new ConfigurationBotFrameworkAuthentication(
      {
        MicrosoftAppId: settings.appId,
        MicrosoftAppType: settings.appType,
        ...(settings.tenantId ? { MicrosoftAppTenantId: settings.tenantId } : {}),
        ToBotFromChannelOpenIdMetadataUrl: settings.openIdMetadataUrl,
        ToBotFromChannelTokenIssuer: settings.tokenIssuer,
        ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
        ToChannelFromBotLoginUrl: settings.loginUrl,
        ToChannelFromBotOAuthScope: settings.oauthScope,
        OAuthUrl: AuthenticationConstants.OAuthUrl,
        CallerId: CallerIdConstants.PublicAzureChannel,
        ValidateAuthority: true,
      },
      this.credentials,
    );
    this.adapter = new CloudAdapter(this.auth);
  }

  /**
   * Hands an activity fastify already parsed to CloudAdapter.process through a request/response
   * shim (the body stream is gone). botbuilder answers a refused JWT with 401 only when it threw
   * its own AuthenticationError and with 500 otherwise (a bad signature comes from jsonwebtoken):
   * `ran` tells the caller that the turn never started, so it can answer 401 itself.
   */
  async process(
    headers: Record<string, string | string[] | undefined>,
    body: Record<string, unknown>,
    logic: (context: TurnContext) => Promise<void>,
  ): Promise<TurnOutcome> {
    const outcome: TurnOutcome = { ran: false, status: 200 };
    const response = {
      socket: null,
      status: (code: number) => {
        outcome.status = code;
      },
      header: () => undefined,
      send: (value: unknown) => {
        outcome.body = value;
      },
      end: () => undefined,
    };
    await this.adapter.process({ method: 'POST', headers, body }, response, async (context) => {
      outcome.ran = true;
      await logic(context);
    });
    return outcome;
  }

  /** Posts an activity into the conversation (or, with `replyToId`, under a message); its id. */
  async send(target: TeamsReference, activity: Partial<Activity>, retries = RETRIES): Promise<string> {
    return this.withRetry(
      'send',
      target,
      async (client) => {
        const outgoing = outgoingActivity(target, activity);
        const sent = activity.replyToId
          ? await client.conversations.replyToActivity(target.conversationId, activity.replyToId, outgoing)
          : await client.conversations.sendToConversation(target.conversationId, outgoing);
        return sent.id ?? '';
      },
      retries,
    );
  }

  /** Replaces a message the bot posted (the card everyone sees). */
  async update(
    target: TeamsReference,
    activityId: string,
    activity: Partial<Activity>,
    retries = RETRIES,
  ): Promise<void> {
    await this.withRetry(
      'update',
      target,
      async (client) => {
        await client.conversations.updateActivity(target.conversationId, activityId, {
          ...outgoingActivity(target, activity),
          id: activityId,
        });
      },
      retries,
    );
  }

  /**
   * A member of the conversation (or its team) by Teams user id (`29:…`) or Entra object id, as
   * TeamsInfo.getMember asks for it; null when they are not in it (the Connector's 404).
   */
  async member(target: TeamsReference, userId: string): Promise<TeamsChannelAccount | null> {
    try {
      return await this.withRetry('member', target, async (client) => {
        const member = await client.conversations.getConversationMember(
          target.teamId ?? target.conversationId,
          userId,
        );
        return member as TeamsChannelAccount;
      });
    } catch (error) {
      if (connectorFailure(error).status === 404) return null;
      throw error;
    }
  }

  /** Fetches the bot's own token (what every outbound call needs): the credentials' health check. */
  async checkCredentials(): Promise<void> {
    const credentials = await this.credentials.createCredentials(
      this.settings.appId,
      this.settings.oauthScope,
      this.settings.loginUrl,
      true,
    );
    const token = (credentials as { getToken?: (force?: boolean) => Promise<string> }).getToken;
    if (token) await token.call(credentials, true);
  }

  /** Stops retrying: calls in flight give up at their next back-off. */
  close(): void {
    this.closing = true;
  }

  /**
   * botbuilder's Connector client for a service URL, made by its connector factory for the bot's
   * own identity (what continueConversationAsync makes for every call), kept for reuse: one
   * client, its pipeline and its token per service URL, not one per message.
   */
  private client(serviceUrl: string): Promise<ConnectorClient> {
    let client = this.clients.get(serviceUrl);
    if (!client) {
      const identity = new ClaimsIdentity([
        { type: AuthenticationConstants.AudienceClaim, value: this.settings.appId },
        { type: AuthenticationConstants.AppIdClaim, value: this.settings.appId },
      ]);
      client = this.auth.createConnectorFactory(identity).create(serviceUrl, this.settings.oauthScope);
      client.catch(() => this.clients.delete(serviceUrl));
      if (this.clients.size > 100) this.clients.clear();
      this.clients.set(serviceUrl, client);
    }
    return client;
  }

  private async withRetry<T>(
    what: string,
    target: TeamsReference,
    work: (client: ConnectorClient) => Promise<T>,
    retries = RETRIES,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work(await this.client(target.serviceUrl));
      } catch (error) {
        const failure = connectorFailure(error);
        if (!failure.retryable || attempt >= retries || this.closing) throw error;
        const delay = Math.min(
          MAX_DELAY_MS,
          failure.retryAfterMs ?? Math.round(500 * 2 ** attempt * (0.5 + Math.random())),
        );
        this.logger?.warn(
          { what, status: failure.status, code: failure.code, attempt: attempt + 1, delayMs: delay },
          'Bot Connector call failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }
}

/** An activity as the bot sends it into a conversation: from the bot, in that conversation. */
function outgoingActivity(target: TeamsReference, activity: Partial<Activity>): Partial<Activity> {
  const reference = referenceOf(target);
  return {
    ...activity,
    channelId: 'msteams',
    serviceUrl: target.serviceUrl,
    conversation: reference.conversation,
    ...(reference.bot?.id ? { from: reference.bot } : {}),
  } as Partial<Activity>;
}

/** botbuilder's conversation reference from ours. */
export function referenceOf(target: TeamsReference): Partial<ConversationReference> {
  return {
    channelId: 'msteams',
    serviceUrl: target.serviceUrl,
    conversation: {
      id: target.conversationId,
      tenantId: target.tenantId,
      isGroup: target.conversationType !== undefined && target.conversationType !== 'personal',
      conversationType: target.conversationType ?? 'personal',
      name: '',
    },
    bot: { id: target.botId ?? '', name: 'Slipway' },
  };
}

const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
]);

/** How a Bot Connector call failed: its HTTP status, how long it said to wait, whether to try again. */
export function connectorFailure(error: unknown): {
  status?: number;
  code?: string;
  retryAfterMs?: number;
  retryable: boolean;
} {
  const e = error as {
    statusCode?: number;
    code?: string;
    response?: { headers?: { get?: (name: string) => string | undefined } };
  };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const retryAfter = e?.response?.headers?.get?.('retry-after');
  const seconds =
    retryAfter !== undefined && /^\d+(\.\d+)?$/.test(retryAfter) ? Number(retryAfter) : undefined;
  const network = e?.code === 'REQUEST_SEND_ERROR' || (e?.code !== undefined && NETWORK_ERRORS.has(e.code));
  const retryable = status === undefined ? network : status === 429 || status === 408 || status >= 500;
  return {
    ...(status !== undefined ? { status } : {}),
    ...(e?.code ? { code: e.code } : {}),
    ...(seconds !== undefined ? { retryAfterMs: Math.ceil(seconds * 1000) } : {}),
    retryable,
  };
}
