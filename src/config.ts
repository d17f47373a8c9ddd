import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SlipwayError } from './errors.js';

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
  SLIPWAY_WEB_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, 'must be at least 16 characters').optional(),
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
  SLIPWAY_SMTP_URL: z.preprocess(
    emptyAsUndefined,
    z
      .url({ error: 'must be a URL like smtps://user:password@smtp.example.com:465' })
      .refine((value) => /^smtps?:\/\//.test(value), 'must start with smtp:// or smtps://')
      .optional(),
  ),
  SLIPWAY_MAIL_FROM: z.string().min(3).default('Slipway <slipway@localhost>'),
  DISCORD_BOT_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().min(20, 'must be a Discord bot token').optional(),
  ),
  DISCORD_API_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ error: 'must be a URL like https://discord.com/api/v10' }).optional(),
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
  const { SLIPWAY_DATA_DIR, SLIPWAY_ADMINS, SLIPWAY_GIT_CACHE_DIR, ...rest } = raw;
  const dataDir = resolve(cwd, SLIPWAY_DATA_DIR);
  return {
    ...rest,
    dataDir,
    gitCacheDir: SLIPWAY_GIT_CACHE_DIR ? resolve(cwd, SLIPWAY_GIT_CACHE_DIR) : join(dataDir, 'git-cache'),
    embeddedDatabase: !raw.DATABASE_URL,
    publicUrl: (raw.SLIPWAY_PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, ''),
    admins: (SLIPWAY_ADMINS ?? []).map((entry) => {
      const [platform, workspace, userId] = entry.split(':') as [string, string, string];
      return { platform, workspace, userId };
    }),
  };
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
  ['SLIPWAY_ADMINS', 'first admins: platform:workspace:user, comma-separated'],
  ['SLACK_BOT_TOKEN', 'Slack bot token (xoxb-…); enables the Slack adapter'],
  ['SLACK_SIGNING_SECRET', 'Slack signing secret: verifies requests to /slack/events'],
  ['SLACK_APP_TOKEN', 'Slack app-level token (xapp-…): use Socket Mode instead of HTTP'],
  ['SLACK_API_URL', 'Slack Web API base URL (default https://slack.com/api/; GovSlack, proxies, tests)'],
  [
    'SLIPWAY_WEB_TOKEN',
    'login token of the web console at /console (unset: generated and logged in embedded mode, else console off)',
  ],
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
  ['SLIPWAY_SMTP_URL', 'SMTP server for e-mail channels: smtp(s)://user:password@host:port'],
  ['SLIPWAY_MAIL_FROM', 'sender of notification e-mails (default Slipway <slipway@localhost>)'],
  ['DISCORD_BOT_TOKEN', 'Discord bot token: lets notification channels post to a Discord channel id'],
  ['DISCORD_API_URL', 'Discord API base URL (default https://discord.com/api/v10; tests, proxies)'],
];
