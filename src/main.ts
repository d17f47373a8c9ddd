import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { SecretBox } from './core/secret-box.js';
import { type Database, openDatabase } from './db/database.js';
import { registerHealthRoutes } from './http/health-routes.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { createHttpServer } from './http/server.js';
import { type JobQueue, startJobQueue, stopJobQueue } from './jobs/queue.js';
import type { Logger } from './logger.js';
import { loadSecretBox } from './secret-key.js';

/** A running Slipway: what the CLI starts and what end-to-end tests start in a child process. */
export interface Slipway {
  config: Config;
  logger: Logger;
  database: Database;
  secrets: SecretBox;
  queue: JobQueue;
  http: FastifyInstance;
  metrics: Metrics;
  /** This process's identity, recorded on the deployments it runs (crash detection). */
  instanceId: string;
  /** Stops taking work, lets in-flight work finish or hands it back, closes everything. */
  stop(): Promise<void>;
}

/** Boot order (DESIGN.md §2): config → database → queue → engine → http → adapters → cron. */
export async function startSlipway(config: Config, logger: Logger): Promise<Slipway> {
  const started = performance.now();
  const secrets = await loadSecretBox(config, logger);
  const database = await openDatabase(config, logger);
  const stack: (() => Promise<void>)[] = [() => database.close()];
  let shuttingDown = false;
  try {
    const queue = await startJobQueue(database.url, logger);
    stack.push(() => stopJobQueue(queue, config.SLIPWAY_SHUTDOWN_TIMEOUT_MS));

    const metrics = createMetrics();
    const http = createHttpServer({ logger, metrics });
    registerHealthRoutes(http, database.orm, () => shuttingDown);
    await http.listen({ host: config.HOST, port: config.PORT });
    stack.push(() => http.close());

    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    logger.info(
      { port, host: config.HOST, startupMs: Math.round(performance.now() - started) },
      `Slipway listening on http://${config.HOST}:${port}`,
    );

    let stopping: Promise<void> | undefined;
    return {
      config,
      logger,
      database,
      secrets,
      queue,
      http,
      metrics,
      instanceId: randomUUID(),
      stop: () => {
        stopping ??= (async () => {
          shuttingDown = true;
          // Reverse boot order: stop taking requests, then work, then the database.
          for (const close of stack.reverse()) {
            await close().catch((error: unknown) => logger.error({ err: error }, 'error during shutdown'));
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const close of stack.reverse()) await close().catch(() => undefined);
    throw error;
  }
}
