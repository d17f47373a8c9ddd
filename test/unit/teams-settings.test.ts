import { describe, expect, it } from 'vitest';
import { resolveTeamsSettings } from '../../adapters/teams/settings.js';
import { loadConfig } from '../../src/config.js';

const APP_ID = '00000000-0000-4000-8000-00000000b07a';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

describe('Teams settings', () => {
  it('asks for what each app type needs, naming the variable', () => {
    expect(() => loadConfig({ TEAMS_APP_ID: APP_ID })).toThrow(/TEAMS_APP_PASSWORD: is required/);
    expect(() =>
      loadConfig({ TEAMS_APP_ID: APP_ID, TEAMS_APP_PASSWORD: 'secret-123', TEAMS_APP_TYPE: 'SingleTenant' }),
    ).toThrow(/TEAMS_TENANT_ID: is required with TEAMS_APP_TYPE=SingleTenant/);
    expect(() =>
      loadConfig({
        TEAMS_APP_ID: APP_ID,
        TEAMS_APP_PASSWORD: 'secret-123',
        TEAMS_TENANT_ID: TENANT,
        TEAMS_APP_TYPE: 'UserAssignedMSI',
      }),
    ).toThrow(/TEAMS_APP_PASSWORD: must not be set/);
    expect(() => loadConfig({ TEAMS_APP_ID: 'bot' })).toThrow(
      /TEAMS_APP_ID: must be the bot's Microsoft App ID/,
    );
    expect(() => loadConfig({ TEAMS_APP_ID: APP_ID, TEAMS_APP_TYPE: 'Personal' })).toThrow(
      /TEAMS_APP_TYPE: must be SingleTenant, MultiTenant or UserAssignedMSI/,
    );
    const config = loadConfig({ TEAMS_APP_ID: APP_ID, TEAMS_APP_PASSWORD: 'secret-123' });
    expect(config.TEAMS_APP_TYPE).toBe('MultiTenant');
  });

  it('fills in the public cloud, the tenant’s token endpoint for a single-tenant bot, and takes overrides', () => {
    const multi = resolveTeamsSettings({ appId: APP_ID, appPassword: 'x', appType: 'MultiTenant' });
    expect(multi).toMatchObject({
      openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
      tokenIssuer: 'https://api.botframework.com',
      tokenUrl: 'https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token',
      loginUrl: 'https://login.microsoftonline.com/botframework.com',
      oauthScope: 'https://api.botframework.com',
    });
    const single = resolveTeamsSettings({
      appId: APP_ID,
      appPassword: 'x',
      tenantId: TENANT,
      appType: 'SingleTenant',
    });
    expect(single.tokenUrl).toBe(`https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`);
    const gov = resolveTeamsSettings({
      appId: APP_ID,
      appPassword: 'x',
      appType: 'MultiTenant',
      openIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
      tokenIssuer: 'https://api.botframework.us',
      tokenUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.com/oauth2/v2.0/token',
      oauthScope: 'https://api.botframework.us',
    });
    expect(gov.loginUrl).toBe('https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.com');
    expect(gov.tokenIssuer).toBe('https://api.botframework.us');
  });
});
