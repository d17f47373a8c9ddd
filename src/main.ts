import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { CommitResolver } from './core/commit-resolver.js';
import { DeploymentExecutor } from './core/deployment-executor.js';
import { DeploymentPlanBuilder } from './core/deployment-plan-builder.js';
import { DeploymentReaper } from './core/deployment-reaper.js';
import { DeploymentService } from './core/deployment-service.js';
import { ProjectSetup } from './core/project-setup.js';
import { RunLiveness } from './core/run-liveness.js';
import type { SecretBox } from './core/secret-box.js';
import { type Database, openDatabase } from './db/database.js';
import { DeploymentRunner } from './engine/index.js';
import { registerHealthRoutes } from './http/health-routes.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { createHttpServer } from './http/server.js';
import { DeploymentQueue } from './jobs/deployment-queue.js';
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
  services: {
    deployments: DeploymentService;
    projects: ProjectSetup;
    reaper: DeploymentReaper;
    executor: DeploymentExecutor;
  };
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
    const instanceId = randomUUID();
    // Closed in reverse: the queue waits for running handlers, which still hold liveness locks.
    const liveness = await RunLiveness.open(database.url, logger);
    stack.push(() => liveness.close());
    const queue = await startJobQueue(database.url, logger);
    stack.push(() => stopJobQueue(queue, config.SLIPWAY_SHUTDOWN_TIMEOUT_MS));

    const metrics = createMetrics();
    const runner = new DeploymentRunner();
    const plans = new DeploymentPlanBuilder(secrets, config);
    const deploymentQueue = new DeploymentQueue(queue);
    await deploymentQueue.setup();
    const onEnded = (deployment: { kind: string; status: string }) =>
      metrics.deployments.inc({ kind: deployment.kind, status: deployment.status });
    const executor = new DeploymentExecutor({
      orm: database.orm,
      runner,
      plans,
      liveness,
      instanceId,
      logger,
      requeue: (id) => deploymentQueue.enqueue(id),
      onEnded,
    });
    const reaper = new DeploymentReaper({ orm: database.orm, runner, plans, logger, onEnded });
    const services = {
      deployments: new DeploymentService(database.orm, deploymentQueue, new CommitResolver(), secrets),
      projects: new ProjectSetup(secrets),
      reaper,
      executor,
    };
    // Deployments left running by a process that died are settled before new work starts.
    await reaper.reap();
    const reaping = setInterval(() => {
      reaper.reap().catch((error: unknown) => logger.error({ err: error }, 'reaper failed'));
    }, 15_000);
    stack.push(async () => clearInterval(reaping));
    await deploymentQueue.work(config.SLIPWAY_WORKER_CONCURRENCY, (id) => executor.execute(id));
    // At shutdown, running deployments stop before activation and go back to the queue.
    stack.push(async () => executor.stopAll());

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
      services,
      instanceId,
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
