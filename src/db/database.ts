import type { Config } from '../config.js';
import { describeDatabaseUrl, type Logger } from '../logger.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { migrate, type Orm, openOrm } from './orm.js';

export interface Database {
  orm: Orm;
  url: string;
  /** Closes the pool, then stops the embedded server if Slipway started one. */
  close(): Promise<void>;
}

/** DATABASE_URL when set; otherwise PostgreSQL embedded in the data folder. Migrations run here. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const embedded = config.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.SLIPWAY_EMBEDDED_PG_PORT, logger });
  const url = config.DATABASE_URL ?? embedded!.url;
  try {
    const orm = await openOrm(url);
    const applied = await migrate(orm);
    logger.info(
      { database: describeDatabaseUrl(url), applied },
      applied.length ? 'migrations applied' : 'database schema up to date',
    );
    return {
      orm,
      url,
      close: async () => {
        await orm.close(true);
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}
