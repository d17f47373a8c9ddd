import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config.js';
import { SlipwayError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { SecretBox } from './secret-box.js';

const KEY_FILE = 'secret.key';

/**
 * The key comes from SLIPWAY_SECRET_KEY. Only in embedded mode (a first run on a laptop) may
 * Slipway make one itself: it keeps it beside the database, readable by the owner only, and
 * warns, because losing that file makes every stored secret unreadable.
 */
export async function loadSecretBox(config: Config, logger: Logger): Promise<SecretBox> {
  const previous = config.SLIPWAY_PREVIOUS_SECRET_KEYS ?? [];
  if (config.SLIPWAY_SECRET_KEY) return SecretBox.fromBase64(config.SLIPWAY_SECRET_KEY, previous);
  if (!config.embeddedDatabase) {
    throw new SlipwayError('config_invalid', 'SLIPWAY_SECRET_KEY: is required when DATABASE_URL is set');
  }
  const path = join(config.dataDir, KEY_FILE);
  let key: string;
  try {
    key = (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    key = randomBytes(32).toString('base64');
    await writeFile(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
    logger.warn(
      { path },
      `SLIPWAY_SECRET_KEY is not set: generated one in ${path} (mode 0600). Back it up, or set SLIPWAY_SECRET_KEY; without it stored secrets cannot be read.`,
    );
  }
  if (Buffer.from(key, 'base64').length !== 32) {
    throw new SlipwayError('config_invalid', `${path}: does not hold a 32-byte base64 key`);
  }
  return SecretBox.fromBase64(key, previous);
}
