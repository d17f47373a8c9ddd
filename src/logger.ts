import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * Paths whose values are secrets wherever they appear in a log object. Code should not log
 * secrets in the first place; this catches the ones that slip through inside larger objects.
 */
export const REDACTED_PATHS = [
  'password',
  'token',
  'secret',
  'privateKey',
  'sshPrivateKey',
  'environmentFile',
  'envFile',
  'authorization',
  'cookie',
  'DATABASE_URL',
  'SLIPWAY_SECRET_KEY',
  'SLIPWAY_PREVIOUS_SECRET_KEYS',
  '*.password',
  '*.token',
  '*.secret',
  '*.privateKey',
  '*.sshPrivateKey',
  '*.environmentFile',
  '*.envFile',
  '*.authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
  'req.headers["x-hub-signature-256"]',
  'headers.authorization',
];

export function createLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>,
  destination?: pino.DestinationStream,
): Logger {
  const pretty =
    !destination &&
    (config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY === true));
  const options: pino.LoggerOptions = {
    level: config.LOG_LEVEL,
    base: { service: 'slipway' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' },
          },
        }
      : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Hides the password in a database URL so it can be logged. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}
