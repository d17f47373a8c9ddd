import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SlipwayError } from './errors.js';
import { isValidRange } from './net/outbound-guard.js';

/**
 * Every setting Slipway reads, read once from the environment and validated here. Nothing
 * else in the code base reads `process.env` (tests pass their own env object).
 */
const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

const positiveInt = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const base64Key = z
  .string()
  .trim()
  .refine((value) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(value), 'must be base64')
  .refine(
    (value) => Buffer.from(value, 'base64').length === 32,
    'must be 32 random bytes, base64-encoded (generate one with: openssl rand -base64 32)',
  );

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({ error: 'must be a URL like postgres://user:password@host:5432/database' })
      .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must start with postgres:// or postgresql://')
      .optional(),
  ),
  SLIPWAY_DATA_DIR: z.string().min(1).default('.slipway'),
  SLIPWAY_GIT_CACHE_DIR: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  SLIPWAY_EMBEDDED_PG_PORT: port.default(0),
  SLIPWAY_SECRET_KEY: z.preprocess(emptyAsUndefined, base64Key.optional()),
  SLIPWAY_PREVIOUS_SECRET_KEYS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .transform((value) => value.split(',').map((key) => key.trim()))
      .pipe(z.array(base64Key))
      .optional(),
  ),
  SLIPWAY_PUBLIC_URL: z.preprocess(emptyAsUndefined, z.url({ error: 'must be a URL' }).optional()),
  SLIPWAY_ADMINS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z
            .string()
            .regex(
              /^[a-z]+:[^:\s]+:[^:\s]+$/,
              'each entry must look like platform:workspace:user, e.g. slack:T123:U456',
            ),
        ),
      )
      .optional(),
  ),
  SLACK_BOT_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().startsWith('xox', 'must be a Slack token (xoxb-…)').optional(),
  ),
  SLACK_SIGNING_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(8, "must be the app's signing secret").optional(),
  ),
  SLACK_APP_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
  ),
  SLACK_API_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({ error: 'must be a URL like https://slack.com/api/' })
      .transform((value) => (value.endsWith('/') ? value : `${value}/`))
      .optional(),
  ),
  /** Gone: the console signs people in with links. Kept in the schema to refuse it loudly. */
  SLIPWAY_WEB_TOKEN: z.preprocess(
    emptyAsUndefined,
    z
      .undefined({
        error:
          'is no longer used: the web console signs each person in with a one-time link (slipway console-login <platform:workspace:user>, or /slipway console in chat); remove it',
      })
      .optional(),
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  SLIPWAY_WORKER_CONCURRENCY: positiveInt(1, 64).default(4),
  SLIPWAY_SERVER_CONCURRENCY: positiveInt(1, 256).default(20),
  SLIPWAY_SSH_CONNECT_TIMEOUT_MS: positiveInt(1000, 600_000).default(20_000),
  SLIPWAY_COMMAND_TIMEOUT_MS: positiveInt(1000, 86_400_000).default(30 * 60_000),
  SLIPWAY_SHUTDOWN_TIMEOUT_MS: positiveInt(100, 600_000).default(10_000),
  SLIPWAY_API_RATE_LIMIT: positiveInt(1, 1_000_000).default(300),
  SLIPWAY_API_RATE_WINDOW_SECONDS: positiveInt(1, 86_400).default(60),
  SLIPWAY_HEARTBEAT_SWEEP_SECONDS: positiveInt(1, 60)
    .refine((seconds) => 60 % seconds === 0, 'must divide 60 (1, 2, 5, 10, 15, 30 or 60)')
    .default(60),
  SLIPWAY_NOTIFY_CONCURRENCY: positiveInt(1, 64).default(8),
  SLIPWAY_NOTIFY_MAX_ATTEMPTS: positiveInt(1, 50).default(12),
  SLIPWAY_NOTIFY_RETRY_BASE_MS: positiveInt(10, 600_000).default(2000),
  SLIPWAY_NOTIFY_TIMEOUT_MS: positiveInt(100, 120_000).default(10_000),
  SLIPWAY_ALLOW_PRIVATE_TARGETS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z
            .string()
            .refine(
              isValidRange,
              'each entry must be an IP range like 10.0.0.0/8 or fd00::/8 (or one address)',
            ),
        ),
      )
      .optional(),
  ),
  SLIPWAY_SMTP_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({ error: 'must be a URL like smtps://user:password@smtp.example.com:465' })
      .refine((value) => /^smtps?:\/\//.test(value), 'must start with smtp:// or smtps://')
      .optional(),
  ),
  SLIPWAY_MAIL_FROM: z.string().min(3).default('Slipway <slipway@localhost>'),
  DISCORD_APPLICATION_ID: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d{15,22}$/, "must be the Discord application's id (digits, from the Developer Portal)")
      .optional(),
  ),
  DISCORD_PUBLIC_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .trim()
      .regex(/^[0-9a-fA-F]{64}$/, "must be the Discord application's public key (64 hex characters)")
      .optional(),
  ),
  DISCORD_BOT_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().min(20, 'must be a Discord bot token').optional(),
  ),
  DISCORD_API_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ error: 'must be a URL like https://discord.com/api/v10' }).optional(),
  ),
  GITHUB_WEBHOOK_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, "must be at least 16 characters (the webhook's secret on GitHub)").optional(),
  ),
  GITHUB_TOKEN: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\S{20,}$/, 'must be a GitHub token (github_pat_…, ghp_…, ghs_…)')
      .optional(),
  ),
  GITHUB_API_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({ error: 'must be a URL like https://api.github.com (or https://github.example.com/api/v3)' })
      .transform((value) => value.replace(/\/+$/, ''))
      .default('https://api.github.com'),
  ),
  TEAMS_APP_ID: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[0-9a-fA-F-]{36}$/, "must be the bot's Microsoft App ID (a GUID)")
      .optional(),
  ),
  TEAMS_APP_PASSWORD: z.preprocess(
    emptyAsUndefined,
    z.string().min(8, "must be the bot's client secret").optional(),
  ),
  TEAMS_TENANT_ID: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[0-9a-fA-F-]{36}$/, 'must be a Microsoft Entra tenant id (a GUID)')
      .optional(),
  ),
  TEAMS_APP_TYPE: z
    .enum(['SingleTenant', 'MultiTenant', 'UserAssignedMSI'], {
      error: 'must be SingleTenant, MultiTenant or UserAssignedMSI',
    })
    .default('MultiTenant'),
  TEAMS_OPENID_METADATA_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({ error: 'must be a URL like https://login.botframework.com/v1/.well-known/openidconfiguration' })
      .optional(),
  ),
  TEAMS_TOKEN_ISSUER: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  TEAMS_TOKEN_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({
        error: 'must be a URL like https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token',
      })
      .optional(),
  ),
  TEAMS_OAUTH_SCOPE: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  TEAMS_SERVICE_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ error: 'must be a URL like https://smba.trafficmanager.net/teams/' }).optional(),
  ),
});

export type RawConfig = z.infer<typeof schema>;

export interface Config
  extends Omit<RawConfig, 'SLIPWAY_DATA_DIR' | 'SLIPWAY_ADMINS' | 'SLIPWAY_GIT_CACHE_DIR'> {
  /** Absolute path of the data folder (embedded database, generated secret key). */
  dataDir: string;
  /** Absolute path of the bare repository caches commit messages are read from. */
  gitCacheDir: string;
  /** True when no DATABASE_URL is given and Slipway runs its own PostgreSQL. */
  embeddedDatabase: boolean;
  publicUrl: string;
  admins: { platform: string; workspace: string; userId: string }[];
}

export type Env = Record<string, string | undefined>;

/** The first admin in embedded mode when SLIPWAY_ADMINS is unset. */
export const DEFAULT_EMBEDDED_ADMIN = 'web:local:admin';

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`,
    );
    throw new SlipwayError('config_invalid', `Invalid configuration:\n  ${problems.join('\n  ')}`, {
      problems,
    });
  }
  const raw = parsed.data;
  if (raw.DATABASE_URL && !raw.SLIPWAY_SECRET_KEY) {
    throw new SlipwayError(
      'config_invalid',
      'Invalid configuration:\n  SLIPWAY_SECRET_KEY: is required when DATABASE_URL is set (generate one with: openssl rand -base64 32)',
    );
  }
  if (raw.SLACK_BOT_TOKEN && !raw.SLACK_APP_TOKEN && !raw.SLACK_SIGNING_SECRET) {
    throw new SlipwayError(
      'config_invalid',
      'Invalid configuration:\n  SLACK_SIGNING_SECRET: is required with SLACK_BOT_TOKEN for Slack over HTTP (or set SLACK_APP_TOKEN for Socket Mode)',
    );
  }
  if (raw.TEAMS_APP_ID) {
    const problem = teamsProblem(raw);
    if (problem) throw new SlipwayError('config_invalid', `Invalid configuration:\n  ${problem}`);
  }
  if (!raw.DISCORD_APPLICATION_ID !== !raw.DISCORD_PUBLIC_KEY) {
    throw new SlipwayError(
      'config_invalid',
      `Invalid configuration:\n  ${raw.DISCORD_APPLICATION_ID ? 'DISCORD_PUBLIC_KEY' : 'DISCORD_APPLICATION_ID'}: is required with ${raw.DISCORD_APPLICATION_ID ? 'DISCORD_APPLICATION_ID' : 'DISCORD_PUBLIC_KEY'} for Discord's interactions endpoint (both are on the application's General Information page)`,
    );
  }
  const { SLIPWAY_DATA_DIR, SLIPWAY_ADMINS, SLIPWAY_GIT_CACHE_DIR, ...rest } = raw;
  const dataDir = resolve(cwd, SLIPWAY_DATA_DIR);
  return {
    ...rest,
    dataDir,
    gitCacheDir: SLIPWAY_GIT_CACHE_DIR ? resolve(cwd, SLIPWAY_GIT_CACHE_DIR) : join(dataDir, 'git-cache'),
    embeddedDatabase: !raw.DATABASE_URL,
    publicUrl: (raw.SLIPWAY_PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, ''),
    // Embedded mode (trying Slipway on a laptop) with no admins named: one, web:local:admin, whom
    // `npm start` prints a sign-in link for.
    admins: (SLIPWAY_ADMINS ?? (raw.DATABASE_URL ? [] : [DEFAULT_EMBEDDED_ADMIN])).map((entry) => {
      const [platform, workspace, userId] = entry.split(':') as [string, string, string];
      return { platform, workspace, userId };
    }),
  };
}

/** What the Teams app type needs besides TEAMS_APP_ID (botbuilder's rules for each type), or null. */
function teamsProblem(raw: RawConfig): string | null {
  if (raw.TEAMS_APP_TYPE === 'UserAssignedMSI') {
    if (raw.TEAMS_APP_PASSWORD)
      return 'TEAMS_APP_PASSWORD: must not be set with TEAMS_APP_TYPE=UserAssignedMSI';
    if (!raw.TEAMS_TENANT_ID) return 'TEAMS_TENANT_ID: is required with TEAMS_APP_TYPE=UserAssignedMSI';
    return null;
  }
  if (!raw.TEAMS_APP_PASSWORD) {
    return `TEAMS_APP_PASSWORD: is required with TEAMS_APP_ID (the bot's client secret) for TEAMS_APP_TYPE=${raw.TEAMS_APP_TYPE}`;
  }
  if (raw.TEAMS_APP_TYPE === 'SingleTenant' && !raw.TEAMS_TENANT_ID) {
    return 'TEAMS_TENANT_ID: is required with TEAMS_APP_TYPE=SingleTenant';
  }
  return null;
}

/** The settings table printed by `slipway --help` and kept in the README. */
export const SETTINGS_HELP: readonly (readonly [name: string, meaning: string])[] = [
  ['PORT', 'HTTP port (default 3000)'],
  ['HOST', 'address to listen on (default 127.0.0.1; the Docker image uses 0.0.0.0)'],
  ['DATABASE_URL', 'PostgreSQL URL; unset = embedded PostgreSQL in SLIPWAY_DATA_DIR'],
  ['SLIPWAY_DATA_DIR', 'data folder for the embedded database and generated key (default ./.slipway)'],
  [
    'SLIPWAY_GIT_CACHE_DIR',
    'bare caches of project repositories, read for commit messages (default SLIPWAY_DATA_DIR/git-cache)',
  ],
  ['SLIPWAY_EMBEDDED_PG_PORT', 'port of the embedded PostgreSQL (default 0 = any free port)'],
  ['SLIPWAY_SECRET_KEY', '32 bytes, base64: encrypts secrets at rest (required with DATABASE_URL)'],
  ['SLIPWAY_PREVIOUS_SECRET_KEYS', 'comma-separated older keys, still accepted for decryption (rotation)'],
  ['SLIPWAY_PUBLIC_URL', 'URL people and cron jobs reach Slipway at (default http://localhost:PORT)'],
  [
    'SLIPWAY_ADMINS',
    'first admins: platform:workspace:user, comma-separated (embedded mode without it: web:local:admin)',
  ],
  ['SLACK_BOT_TOKEN', 'Slack bot token (xoxb-…); enables the Slack adapter'],
  ['SLACK_SIGNING_SECRET', 'Slack signing secret: verifies requests to /slack/events'],
  ['SLACK_APP_TOKEN', 'Slack app-level token (xapp-…): use Socket Mode instead of HTTP'],
  ['SLACK_API_URL', 'Slack Web API base URL (default https://slack.com/api/; GovSlack, proxies, tests)'],
  ['LOG_LEVEL', 'fatal|error|warn|info|debug|trace|silent (default info)'],
  ['LOG_FORMAT', 'auto|json|pretty (default auto: pretty in a terminal, JSON otherwise)'],
  ['SLIPWAY_WORKER_CONCURRENCY', 'deployments one process runs at once (default 4)'],
  ['SLIPWAY_SERVER_CONCURRENCY', 'servers one deployment works on at once (default 20)'],
  ['SLIPWAY_SSH_CONNECT_TIMEOUT_MS', 'SSH connect timeout (default 20000)'],
  ['SLIPWAY_COMMAND_TIMEOUT_MS', 'timeout of one remote step (default 1800000)'],
  ['SLIPWAY_SHUTDOWN_TIMEOUT_MS', 'how long shutdown waits for in-flight work (default 10000)'],
  ['SLIPWAY_API_RATE_LIMIT', 'REST API requests one token may make per window; more get 429 (default 300)'],
  ['SLIPWAY_API_RATE_WINDOW_SECONDS', 'the rate-limit window of the REST API, in seconds (default 60)'],
  [
    'SLIPWAY_HEARTBEAT_SWEEP_SECONDS',
    'how often overdue heartbeats are looked for, in seconds; divides 60 (default 60)',
  ],
  ['SLIPWAY_NOTIFY_CONCURRENCY', 'notifications one process sends at once (default 8)'],
  ['SLIPWAY_NOTIFY_MAX_ATTEMPTS', 'tries of one notification before it is kept as failed (default 12)'],
  [
    'SLIPWAY_NOTIFY_RETRY_BASE_MS',
    'first retry delay of a notification; doubles each time, with jitter (default 2000)',
  ],
  [
    'SLIPWAY_NOTIFY_TIMEOUT_MS',
    'time allowed for one request to a chat platform, webhook or SMTP server (default 10000)',
  ],
  [
    'SLIPWAY_ALLOW_PRIVATE_TARGETS',
    'comma-separated IP ranges (CIDR) webhooks, health checks and repositories may reach although internal (default none)',
  ],
  ['SLIPWAY_SMTP_URL', 'SMTP server for e-mail channels: smtp(s)://user:password@host:port'],
  ['SLIPWAY_MAIL_FROM', 'sender of notification e-mails (default Slipway <slipway@localhost>)'],
  [
    'DISCORD_APPLICATION_ID',
    'Discord application id; with DISCORD_PUBLIC_KEY enables slash commands and buttons at /discord/interactions',
  ],
  [
    'DISCORD_PUBLIC_KEY',
    "Discord application's public key (hex): verifies every request to /discord/interactions",
  ],
  [
    'DISCORD_BOT_TOKEN',
    'Discord bot token: posts to channel ids (notifications) and keeps editing progress past 15 minutes',
  ],
  ['DISCORD_API_URL', 'Discord API base URL (default https://discord.com/api/v10; tests, proxies)'],
  ['GITHUB_WEBHOOK_SECRET', 'secret of the GitHub webhook: enables POST /github/webhook and verifies it'],
  ['GITHUB_TOKEN', 'GitHub token with Deployments write access: reports deployments to GitHub'],
  [
    'GITHUB_API_URL',
    'GitHub REST API base URL (default https://api.github.com; GitHub Enterprise: https://HOST/api/v3)',
  ],
  ['TEAMS_APP_ID', "the Teams bot's Microsoft App ID (Azure Bot Service); enables the Teams adapter"],
  ['TEAMS_APP_PASSWORD', "the bot's client secret (SingleTenant, MultiTenant)"],
  ['TEAMS_TENANT_ID', "the bot's Microsoft Entra tenant (required for SingleTenant and UserAssignedMSI)"],
  ['TEAMS_APP_TYPE', 'SingleTenant, MultiTenant or UserAssignedMSI, as registered (default MultiTenant)'],
  [
    'TEAMS_OPENID_METADATA_URL',
    "OpenID metadata whose keys sign the Bot Framework's requests (default Microsoft's public cloud)",
  ],
  ['TEAMS_TOKEN_ISSUER', 'issuer of those requests (default https://api.botframework.com)'],
  [
    'TEAMS_TOKEN_URL',
    'where the bot gets its own token (default https://login.microsoftonline.com/<botframework.com or tenant>/oauth2/v2.0/token)',
  ],
  [
    'TEAMS_OAUTH_SCOPE',
    "audience of the bot's token for the Bot Connector (default https://api.botframework.com)",
  ],
  [
    'TEAMS_SERVICE_URL',
    'Bot Connector URL for notices to a channel the bot has not heard from yet (default https://smba.trafficmanager.net/teams/)',
  ],
];
