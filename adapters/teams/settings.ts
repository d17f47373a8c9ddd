import { AuthenticationConstants } from 'botframework-connector';

export type TeamsAppType = 'SingleTenant' | 'MultiTenant' | 'UserAssignedMSI';

/** The Teams bot's settings as the registry reads them from the configuration (TEAMS_*). */
export interface TeamsConfig {
  appId: string;
  appPassword?: string | undefined;
  tenantId?: string | undefined;
  appType: TeamsAppType;
  openIdMetadataUrl?: string | undefined;
  tokenIssuer?: string | undefined;
  tokenUrl?: string | undefined;
  oauthScope?: string | undefined;
  serviceUrl?: string | undefined;
}

/** The same, with every endpoint resolved: Microsoft's public cloud unless overridden. */
export interface TeamsSettings extends TeamsConfig {
  openIdMetadataUrl: string;
  tokenIssuer: string;
  tokenUrl: string;
  oauthScope: string;
  serviceUrl: string;
  /** The authority the token comes from (botbuilder's ToChannelFromBotLoginUrl). */
  loginUrl: string;
}

/**
 * Fills in the public-cloud endpoints botbuilder would use. Every one is set explicitly because
 * botbuilder, given any one of them, takes the others as given too (unset ones would refuse
 * every request).
 */
export function resolveTeamsSettings(config: TeamsConfig): TeamsSettings {
  const authority =
    config.appType === 'SingleTenant' && config.tenantId
      ? `https://login.microsoftonline.com/${config.tenantId}`
      : AuthenticationConstants.ToChannelFromBotLoginUrl;
  const tokenUrl = config.tokenUrl ?? `${authority}/oauth2/v2.0/token`;
  return {
    ...config,
    openIdMetadataUrl: config.openIdMetadataUrl ?? AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl,
    tokenIssuer: config.tokenIssuer ?? AuthenticationConstants.ToBotFromChannelTokenIssuer,
    tokenUrl,
    oauthScope: config.oauthScope ?? AuthenticationConstants.ToChannelFromBotOAuthScope,
    serviceUrl: config.serviceUrl ?? 'https://smba.trafficmanager.net/teams/',
    loginUrl: tokenUrl.replace(/\/oauth2\/v2\.0\/token\/?$/, ''),
  };
}
