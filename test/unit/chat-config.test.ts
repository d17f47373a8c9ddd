import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS_HELP } from '../../src/config.js';

describe('chat settings', () => {
  it('reads the Slack and console settings', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1-2-3',
      SLACK_SIGNING_SECRET: 'abcdef0123456789',
      SLACK_API_URL: 'http://127.0.0.1:9999/api',
      SLIPWAY_ADMINS: 'slack:T123:U456, web:local:admin',
    });
    expect(config.SLACK_API_URL).toBe('http://127.0.0.1:9999/api/');
    expect(config.admins).toEqual([
      { platform: 'slack', workspace: 'T123', userId: 'U456' },
      { platform: 'web', workspace: 'local', userId: 'admin' },
    ]);
  });

  it('refuses a bot token without a signing secret or app token, and malformed tokens', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/SLACK_SIGNING_SECRET: is required/);
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-2' })).not.toThrow();
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xoxb-wrong' })).toThrow(
      /SLACK_APP_TOKEN: must be an app-level token/,
    );
    // The console's shared token is gone (sign-in links instead): setting it is refused, not ignored.
    expect(() => loadConfig({ SLIPWAY_WEB_TOKEN: 'short' })).toThrow(/SLIPWAY_WEB_TOKEN: is no longer used/);
  });

  it('documents every new setting', () => {
    const names = SETTINGS_HELP.map(([name]) => name);
    for (const name of [
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_APP_TOKEN',
      'SLACK_API_URL',
      'SLIPWAY_ALLOW_PRIVATE_TARGETS',
    ]) {
      expect(names).toContain(name);
    }
  });
});
