import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { chatAdapters, inboundAdapters, notificationSenders } from '../../adapters/index.js';
import { COMMANDS } from '../../commands/index.js';
import type { ChatAdapter } from '../chat/adapter.js';
import { ChatGateway } from '../chat/gateway.js';
import type { Config } from '../config.js';
import { RunLiveness } from '../core/deployments/index.js';
import { NotificationLiveness } from '../core/notifications/index.js';
import { loadSecretBox, type SecretBox } from '../core/secrets/index.js';
import { databaseInputError } from '../db/constraint-errors.js';
import { type Database, openDatabase } from '../db/database.js';
import { registerApi } from '../http/api/index.js';
import { registerHealthRoutes } from '../http/health-routes.js';
import { registerHeartbeatRoutes } from '../http/heartbeat-routes.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import { createHttpServer } from '../http/server.js';
import { DeploymentQueue } from '../jobs/deployment-queue.js';
import { NotificationQueue } from '../jobs/notification-queue.js';
import { PipelineQueue } from '../jobs/pipeline-queue.js';
import { type JobQueue, startJobQueue, stopJobQueue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';
import { createOutboundGuard } from '../net/outbound-guard.js';
import type { ChatPlatform } from '../vocabulary.js';
import { metricSources } from './metric-sources.js';
import { readiness } from './readiness.js';
import { startSchedules } from './schedules.js';
import { buildServices, type ServiceJobs, type Services } from './services.js';

/**
 * Connections the kernel holds for us while the event loop is busy. Node's default, 511, is
 * less than a fleet's cron jobs pinging their heartbeats at :00 open at once; past it a new
 * connection's SYN is dropped and its client waits a second to retry (bench:heartbeats at
 * 10,000 check-ins/s: 138 overflows and answers after 1,028 ms in 15 s). The kernel caps it at
 * net.core.somaxconn.
 */
const LISTEN_BACKLOG = 8192;

/** A running Slipway: what the CLI starts and what end-to-end tests start in a child process. */
export interface Slipway {
  config: Config;
  logger: Logger;
  database: Database;
  secrets: SecretBox;
  queue: JobQueue;
  jobs: ServiceJobs;
  http: FastifyInstance;
  /** Prometheus metrics; each chat adapter's standing (its `health()`) is read into `slipway_chat_adapter_up` at every scrape. */
  metrics: Metrics;
  services: Services;
  /** Chat: the router, the progress notifier and the adapters it serves. */
  chat: ChatGateway;
  /** The chat platforms this Slipway serves (adapters/index.ts decides from the settings). */
  adapters: ChatAdapter[];
  /** This process's identity, recorded on the deployments it runs (crash detection). */
  instanceId: string;
  /** Stops taking work, lets in-flight work finish or hands it back, closes everything. */
  stop(): Promise<void>;
}

/**
 * Boot order (DESIGN.md §2): config → database → queue → services (engine included) → http →
 * adapters → schedules. Shutdown runs it backwards.
 */
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
    const notificationLiveness = await NotificationLiveness.hold(database.url, instanceId, logger);
    stack.push(() => notificationLiveness.close());
    const queue = await startJobQueue(database.url, logger);
    stack.push(() => stopJobQueue(queue, config.SLIPWAY_SHUTDOWN_TIMEOUT_MS));
    const jobs: ServiceJobs = {
      deployments: new DeploymentQueue(queue),
      notifications: new NotificationQueue(queue),
      pipelines: new PipelineQueue(queue),
      liveness,
      instanceId,
    };
    await jobs.deployments.setup();
    await jobs.notifications.setup();
    await jobs.pipelines.setup();

    const metrics = createMetrics();
    const outbound = createOutboundGuard({ allow: config.SLIPWAY_ALLOW_PRIVATE_TARGETS });
    stack.push(() => outbound.close());
    metrics.useSources(metricSources(database.orm));
    const senders = notificationSenders(config, outbound.fetch);
    stack.push(async () => {
      for (const sender of senders) sender.close?.();
    });
    let chat: ChatGateway | undefined;
    const services = buildServices({ config, logger, orm: database.orm, secrets, senders, outbound }, jobs, {
      onStarted: (deployment) => {
        if (deployment.queuedAt && deployment.startedAt)
          metrics.queuePickup.observe(
            (deployment.startedAt.getTime() - deployment.queuedAt.getTime()) / 1000,
          );
      },
      onEnded: (deployment) => {
        metrics.deployments.inc({ kind: deployment.kind, status: deployment.status });
        if (deployment.startedAt && deployment.finishedAt) {
          metrics.deploymentDuration.observe(
            {
              project: deployment.project.name,
              environment: deployment.environment.name,
              status: deployment.status,
            },
            (deployment.finishedAt.getTime() - deployment.startedAt.getTime()) / 1000,
          );
        }
        chat?.notifier.notify(deployment.id);
      },
      onProgress: (deploymentId) => chat?.notifier.notify(deploymentId),
      onPipelineProgress: (executionId) => chat?.pipelineNotifier.notify(executionId),
    });
    chat = new ChatGateway(COMMANDS, services, logger, { inputError: databaseInputError });
    const gateway = chat;

    // Deployments left running by a process that died are settled before new work starts.
    await services.reaper.reap();
    await jobs.deployments.work(config.SLIPWAY_WORKER_CONCURRENCY, (id) => services.executor.execute(id));
    // At shutdown, running deployments stop before activation and go back to the queue.
    stack.push(async () => services.executor.stopAll());
    // Pipeline runs are rows: a worker only takes the next step; the sweep covers what a crash left.
    await jobs.pipelines.work(2, (id) => services.pipelineRunner.advance(id));
    // Notifications: deliveries left by a dead process go back first, then the workers start.
    await services.deliveries.recover();
    await jobs.notifications.workFanOut((eventIds) =>
      services.deliveries.fanOut(eventIds).then(() => undefined),
    );
    await jobs.notifications.workDeliveries(config.SLIPWAY_NOTIFY_CONCURRENCY, (id) =>
      services.deliveries.deliver(id),
    );
    stack.push(async () => services.deliveries.stop());
    stack.push(
      startSchedules({
        config,
        logger,
        services,
        onExpired: (ids) => {
          for (const id of ids) gateway.notifier.notify(id);
        },
      }),
    );

    const http = createHttpServer({ logger, metrics });
    // A chat platform that is down is shown in /readyz, never a reason to take Slipway out of service.
    registerHealthRoutes(
      http,
      readiness(database.orm, () => shuttingDown),
      () => ({
        adapters: gateway.health(),
      }),
    );
    registerHeartbeatRoutes(http, services.heartbeats);
    await registerApi(http, services, {
      rateLimit: config.SLIPWAY_API_RATE_LIMIT,
      rateWindowMs: config.SLIPWAY_API_RATE_WINDOW_SECONDS * 1000,
      publicUrl: config.publicUrl,
      version: '1.0.0',
      inputError: databaseInputError,
    });
    // Webhook receivers (GitHub) feed the core through neutral ports; each delivery is acted on
    // once across replicas (the inbound ledger).
    const inbound = services.inbound;
    for (const receiver of inboundAdapters(config, logger, {
      repositories: {
        push: (push) => services.pushes.apply(push),
        ciResult: (result) => services.ciResults.record(result),
      },
      deliveries: {
        claim: (key, ttl) => inbound.firstTime(key, ttl),
        keep: (key, ttl) => inbound.keep(key, ttl),
        forget: (key) => inbound.forget(key),
      },
    })) {
      receiver.mount(http);
    }
    // Projects with a GitHub repository report their deployments there (when GITHUB_TOKEN is set).
    await services.reporting
      .sync()
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'could not update the GitHub reporting channels'),
      );
    const { adapters } = chatAdapters(config, logger);
    metrics.watchChatAdapters(() => gateway.health());
    for (const adapter of adapters) {
      gateway.attach(adapter);
      await adapter.mount(http, gateway);
    }
    await http.listen({ host: config.HOST, port: config.PORT, backlog: LISTEN_BACKLOG });
    stack.push(() => http.close());
    for (const adapter of adapters) {
      await adapter.start();
      stack.push(() => adapter.stop());
    }

    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    logger.info(
      { port, host: config.HOST, instanceId, startupMs: Math.round(performance.now() - started) },
      `Slipway listening on http://${config.HOST}:${port}`,
    );
    const firstAdmin = config.admins[0];
    if (config.embeddedDatabase && firstAdmin) {
      // Embedded mode (a laptop trying Slipway): a one-time sign-in link for the first admin, so
      // the Quick start stays one step. Everyone else gets theirs from `slipway console-login`.
      const link = await services.consoleSignIn.issueLink(
        { memberId: null, name: 'slipway start', source: 'system' },
        { ...firstAdmin, platform: firstAdmin.platform as ChatPlatform, displayName: firstAdmin.userId },
      );
      logger.info(
        { identity: Object.values(firstAdmin).join(':'), expiresAt: link.expiresAt },
        `Web console: sign in as ${Object.values(firstAdmin).join(':')} (once, within 15 minutes): ${link.url}`,
      );
    }

    let stopping: Promise<void> | undefined;
    return {
      config,
      logger,
      database,
      secrets,
      queue,
      jobs,
      http,
      metrics,
      services,
      chat: gateway,
      adapters,
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
