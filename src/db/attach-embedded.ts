import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { type Database, openDatabase } from './database.js';
import { migrate, openOrm } from './orm.js';

/**
 * For commands run beside a live service (`slipway apply`, `slipway token`): in embedded mode
 * the running Slipway owns the PostgreSQL in the data folder, so a second process connects to
 * it instead of starting another. Otherwise (DATABASE_URL, or nothing running) this is
 * openDatabase.
 */
export async function openDatabaseBesideService(config: Config, logger: Logger): Promise<Database> {
  const url = config.embeddedDatabase ? await runningEmbeddedUrl(config.dataDir) : null;
  if (!url) return openDatabase(config, logger);
  const orm = await openOrm(url, { poolMax: 2 });
  try {
    await migrate(orm);
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  logger.debug({ dataDir: config.dataDir }, 'using the embedded PostgreSQL of the running Slipway');
  return { orm, url, close: () => orm.close(true) };
}

/** The URL of the embedded PostgreSQL running in `dataDir`, if one runs and answers. */
export async function runningEmbeddedUrl(dataDir: string): Promise<string | null> {
  let pid: number;
  let port: number;
  let password: string;
  try {
    // postmaster.pid: pid, data dir, start time, port, … (one per line).
    const lines = (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n');
    pid = Number(lines[0]);
    port = Number(lines[3]);
    password = (await readFile(join(dataDir, 'postgres.password'), 'utf8')).trim();
  } catch {
    return null;
  }
  if (!pid || !port || !alive(pid)) return null;
  const url = `postgres://slipway:${encodeURIComponent(password)}@127.0.0.1:${port}/slipway`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return url;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
