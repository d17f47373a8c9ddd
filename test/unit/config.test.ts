import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { SlipwayError } from '../../src/errors.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env, '/srv');
  } catch (error) {
    expect(error).toBeInstanceOf(SlipwayError);
    return (error as SlipwayError).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('configuration', () => {
  it('has working defaults: embedded database in ./.slipway, port 3000', () => {
    const config = loadConfig({}, '/srv');
    expect(config.PORT).toBe(3000);
    expect(config.embeddedDatabase).toBe(true);
    expect(config.dataDir).toBe('/srv/.slipway');
    expect(config.publicUrl).toBe('http://localhost:3000');
  });

  it('names the variable and the problem', () => {
    expect(problemsOf({ PORT: 'abc' })).toMatch(/PORT: must be a number/);
    expect(problemsOf({ PORT: '70000' })).toMatch(/PORT: must be between 0 and 65535/);
    expect(problemsOf({ SLIPWAY_SECRET_KEY: randomBytes(16).toString('base64') })).toMatch(
      /SLIPWAY_SECRET_KEY: must be 32 random bytes/,
    );
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })).toMatch(/DATABASE_URL: must start with postgres/);
    expect(problemsOf({ SLIPWAY_ADMINS: 'slack:T1' })).toMatch(/SLIPWAY_ADMINS.*platform:workspace:user/);
  });

  it('reports every problem at once', () => {
    const message = problemsOf({ PORT: 'abc', LOG_LEVEL: 'loud' });
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/LOG_LEVEL/);
  });

  it('requires a secret key with an external database', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://db/slipway' })).toMatch(/SLIPWAY_SECRET_KEY: is required/);
    const key = randomBytes(32).toString('base64');
    expect(
      loadConfig({ DATABASE_URL: 'postgres://db/slipway', SLIPWAY_SECRET_KEY: key }).embeddedDatabase,
    ).toBe(false);
  });

  it('parses the first admins', () => {
    const config = loadConfig({ SLIPWAY_ADMINS: 'slack:T123:U456, web:local:admin' });
    expect(config.admins).toEqual([
      { platform: 'slack', workspace: 'T123', userId: 'U456' },
      { platform: 'web', workspace: 'local', userId: 'admin' },
    ]);
  });
});
