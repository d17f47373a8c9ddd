import {
  AppCredentials,
  type AuthenticatorResult,
  JwtTokenProviderFactory,
  ManagedIdentityServiceClientCredentialsFactory,
  ServiceClientCredentialsFactory,
} from 'botframework-connector';
import type { TeamsSettings } from './settings.js';

/** The token endpoint said no, or could not be reached: `detail` is for operators and never holds a secret. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
  constructor(
    readonly detail: string,
    /** The endpoint answered (a refused secret): trying again will not help until someone fixes it. */
    readonly refused: boolean,
  ) {
    super(detail);
  }
}

/**
 * The OAuth 2.0 client-credentials grant against the bot's token endpoint (Microsoft Entra's
 * `/oauth2/v2.0/token`, or a sovereign cloud's): one request per token, shared by everyone who
 * asks for the same scope at the same time. MSAL would refuse a plain-HTTP endpoint and insists
 * on its discovery calls, so a local stand-in and an operator's override could not be used; the
 * grant itself is one form POST.
 */
export class ClientSecretTokenClient {
  private readonly pending = new Map<string, Promise<AuthenticatorResult>>();

  constructor(
    private readonly options: { tokenUrl: string; clientId: string; clientSecret: string; timeoutMs: number },
  ) {}

  token(scope: string): Promise<AuthenticatorResult> {
    const full = scope.endsWith('/.default') ? scope : `${scope.replace(/\/+$/, '')}/.default`;
    let pending = this.pending.get(full);
    if (!pending) {
      pending = this.request(full).finally(() => this.pending.delete(full));
      this.pending.set(full, pending);
    }
    return pending;
  }

  private async request(scope: string): Promise<AuthenticatorResult> {
    const { tokenUrl, clientId, clientSecret, timeoutMs } = this.options;
    let response: Response;
    try {
      response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          scope,
        }).toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const what =
        (error as Error).name === 'TimeoutError' ? 'timed out' : (cause ?? (error as Error).message);
      throw new TokenRequestError(`the token endpoint could not be reached (${what})`, false);
    }
    const body = (await response.json().catch(() => ({}))) as {
      access_token?: string;
      expires_in?: number | string;
      error?: string;
      error_description?: string;
    };
    if (!response.ok || typeof body.access_token !== 'string') {
      // Entra's descriptions start with the AADSTS code and reason; the trace ids after them are noise.
      const reason = body.error_description?.split(/\r?\n/)[0]?.slice(0, 160);
      throw new TokenRequestError(
        `the token endpoint answered HTTP ${response.status}${body.error ? `: ${body.error}` : ''}${reason ? ` (${reason})` : ''}`,
        response.status === 400 || response.status === 401 || response.status === 403,
      );
    }
    const seconds = Number(body.expires_in ?? 3600);
    return {
      accessToken: body.access_token,
      expiresOn: new Date(Date.now() + (Number.isFinite(seconds) ? seconds : 3600) * 1000),
    };
  }
}

/** botbuilder's credentials (its token cache, its request signing) over our token client. */
class ClientSecretCredentials extends AppCredentials {
  constructor(
    appId: string,
    scope: string,
    private readonly client: ClientSecretTokenClient,
  ) {
    super(appId, undefined, scope);
  }

  protected override refreshToken(): Promise<AuthenticatorResult> {
    return this.client.token(this.oAuthScope);
  }
}

/** What ConfigurationBotFrameworkAuthentication asks for the bot's outbound credentials. */
class ClientSecretCredentialsFactory extends ServiceClientCredentialsFactory {
  constructor(
    private readonly appId: string,
    private readonly scope: string,
    private readonly client: ClientSecretTokenClient,
  ) {
    super();
  }

  override async isValidAppId(appId: string): Promise<boolean> {
    return appId === this.appId;
  }

  override async isAuthenticationDisabled(): Promise<boolean> {
    return false;
  }

  override async createCredentials(appId: string, audience: string | undefined) {
    if (appId !== this.appId) throw new Error('Invalid appId.');
    return new ClientSecretCredentials(appId, audience || this.scope, this.client);
  }
}

/**
 * The bot's credentials for its app type: a client secret against the token endpoint
 * (SingleTenant: the bot's tenant; MultiTenant: botframework.com), or the user-assigned managed
 * identity through botbuilder's own factory (Azure's instance metadata endpoint).
 */
export function credentialsFactoryFor(settings: TeamsSettings): ServiceClientCredentialsFactory {
  if (settings.appType === 'UserAssignedMSI') {
    return new ManagedIdentityServiceClientCredentialsFactory(settings.appId, new JwtTokenProviderFactory());
  }
  return new ClientSecretCredentialsFactory(
    settings.appId,
    settings.oauthScope,
    new ClientSecretTokenClient({
      tokenUrl: settings.tokenUrl,
      clientId: settings.appId,
      clientSecret: settings.appPassword ?? '',
      timeoutMs: 10_000,
    }),
  );
}
