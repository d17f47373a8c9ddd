import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createSlackAdapter, type SlackAdapter } from '../../adapters/slack/app.js';
import { registerWebConsole } from '../../adapters/web/console.js';
import { COMMANDS } from '../../commands/index.js';
import { ProgressNotifier } from '../chat/progress.js';
import { ChatRouter } from '../chat/router.js';
import type { Config } from '../config.js';
import { AccessPolicy } from '../core/access/index.js';
import { ApprovalService } from '../core/approvals/index.js';
import {
  CommitResolver,
  DeploymentExecutor,
  DeploymentPlanBuilder,
  DeploymentReaper,
  DeploymentService,
  DeploymentViews,
  LockService,
  RunLiveness,
} from '../core/deployments/index.js';
import { NotificationLiveness } from '../core/notifications/index.js';
import { ProjectSetup } from '../core/projects/index.js';
import { loadSecretBox, type SecretBox } from '../core/secrets/index.js';
import { type Database, openDatabase } from '../db/database.js';
import { DeploymentRunner } from '../engine/index.js';
import { heartbeatRoutes } from '../http/api/routes/heartbeats.js';
import { notificationRoutes } from '../http/api/routes/notifications.js';
import { registerHealthRoutes } from '../http/health-routes.js';
import { registerHeartbeatRoutes } from '../http/heartbeat-routes.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import { createHttpServer } from '../http/server.js';
import { DeploymentQueue } from '../jobs/deployment-queue.js';
import { type JobQueue, startJobQueue, stopJobQueue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';
import { createNotifications, type Notifications } from './notifications.js';
import { type ApiServices, createApiServices, mountRestApi } from './services.js';

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
    access: AccessPolicy;
    approvals: ApprovalService;
    locks: LockService;
    views: DeploymentViews;
    notifier: ProgressNotifier;
    router: ChatRouter;
    /** Heartbeats, notification channels, the outbox, the delivery worker and the sweep. */
    notifications: Notifications;
    /** The REST API's services (also what `slipway apply` uses). */
    api: ApiServices;
  };
  /** The Slack adapter, when SLACK_BOT_TOKEN is set. */
  slack: SlackAdapter | null;
  /** The web console's login token (SLIPWAY_WEB_TOKEN or generated), null when the console is off. */
  webToken: string | null;
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
    const notificationLiveness = await NotificationLiveness.hold(database.url, instanceId, logger);
    stack.push(() => notificationLiveness.close());
    const queue = await startJobQueue(database.url, logger);
    stack.push(() => stopJobQueue(queue, config.SLIPWAY_SHUTDOWN_TIMEOUT_MS));

    const metrics = createMetrics();
    const runner = new DeploymentRunner();
    const plans = new DeploymentPlanBuilder(secrets, config);
    const deploymentQueue = new DeploymentQueue(queue);
    await deploymentQueue.setup();
    const notifications = await createNotifications({
      config,
      logger,
      orm: database.orm,
      secrets,
      boss: queue,
      instanceId,
    });
    const outbox = notifications.outbox;
    // Chat: who may do what, approvals, locks, read models, and the messages kept up to date.
    const access = new AccessPolicy(database.orm, config.admins);
    const views = new DeploymentViews(database.orm);
    const deployments = new DeploymentService(
      database.orm,
      deploymentQueue,
      new CommitResolver(),
      secrets,
      outbox,
    );
    const approvals = new ApprovalService(database.orm, access, deployments, outbox);
    const locks = new LockService(database.orm, access, outbox);
    const { heartbeats } = notifications;
    const notifier = new ProgressNotifier(views, approvals, logger);
    // The services behind the REST API and `slipway apply`; chat's promote shares their gates.
    const projects = new ProjectSetup(secrets);
    const api = createApiServices({
      config,
      orm: database.orm,
      secrets,
      access,
      setup: projects,
      deployments,
      views,
      runner,
    });
    const router = new ChatRouter(
      COMMANDS,
      { deployments, approvals, locks, access, views, heartbeats, promotions: api.promotions },
      logger,
    );
    const onEnded = (deployment: { id: string; kind: string; status: string }) => {
      metrics.deployments.inc({ kind: deployment.kind, status: deployment.status });
      notifier.notify(deployment.id);
    };
    const onProgress = (deploymentId: string) => notifier.notify(deploymentId);
    const executor = new DeploymentExecutor({
      orm: database.orm,
      runner,
      plans,
      liveness,
      instanceId,
      logger,
      requeue: (id) => deploymentQueue.enqueue(id),
      onEnded,
      onProgress,
      notifications: outbox,
    });
    const reaper = new DeploymentReaper({
      orm: database.orm,
      runner,
      plans,
      logger,
      onEnded,
      notifications: outbox,
    });
    const services = {
      deployments,
      projects,
      reaper,
      executor,
      access,
      approvals,
      locks,
      views,
      notifier,
      router,
      notifications,
      api,
    };
    // Deployments left running by a process that died are settled before new work starts.
    await reaper.reap();
    const reaping = setInterval(() => {
      reaper.reap().catch((error: unknown) => logger.error({ err: error }, 'reaper failed'));
    }, 15_000);
    stack.push(async () => clearInterval(reaping));
    // Approval requests past their time to live are closed and their cards updated.
    const expiring = setInterval(() => {
      approvals
        .expireDue()
        .then((ids) => {
          for (const id of ids) notifier.notify(id);
        })
        .catch((error: unknown) => logger.error({ err: error }, 'approval expiry sweep failed'));
    }, 30_000);
    stack.push(async () => clearInterval(expiring));
    await deploymentQueue.work(config.SLIPWAY_WORKER_CONCURRENCY, (id) => executor.execute(id));
    // At shutdown, running deployments stop before activation and go back to the queue.
    stack.push(async () => executor.stopAll());
    // Notifications: deliveries left by a dead process go back first, then the workers and the sweep start.
    stack.push(await notifications.start());

    const http = createHttpServer({ logger, metrics });
    registerHealthRoutes(http, database.orm, () => shuttingDown);
    registerHeartbeatRoutes(http, heartbeats);
    stack.push(
      await mountRestApi({
        config,
        logger,
        http,
        services: api,
        access,
        deployments,
        approvals,
        locks,
        extraRoutes: [
          heartbeatRoutes(heartbeats, access),
          notificationRoutes(notifications.channels, access),
        ],
      }),
    );
    const slack = config.SLACK_BOT_TOKEN
      ? createSlackAdapter({
          settings: {
            botToken: config.SLACK_BOT_TOKEN,
            signingSecret: config.SLACK_SIGNING_SECRET,
            appToken: config.SLACK_APP_TOKEN,
            apiUrl: config.SLACK_API_URL,
          },
          router,
          notifier,
          http,
          logger,
        })
      : null;
    const webToken =
      config.SLIPWAY_WEB_TOKEN ?? (config.embeddedDatabase ? randomBytes(18).toString('base64url') : null);
    if (webToken) registerWebConsole({ http, router, notifier, token: webToken, logger });
    await http.listen({ host: config.HOST, port: config.PORT });
    stack.push(() => http.close());
    if (slack) {
      await slack.start();
      stack.push(() => slack.stop());
    }

    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    logger.info(
      { port, host: config.HOST, startupMs: Math.round(performance.now() - started) },
      `Slipway listening on http://${config.HOST}:${port}`,
    );
    if (slack) logger.info({ mode: slack.mode }, 'Slack adapter ready');
    if (webToken && !config.SLIPWAY_WEB_TOKEN) {
      // Embedded mode with no token set: this run's token, for trying Slipway locally.
      logger.info(`Web console: http://${config.HOST}:${port}/console  login token: ${webToken}`);
    } else if (!webToken) {
      logger.info('Web console off: set SLIPWAY_WEB_TOKEN to enable /console');
    }

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
      slack,
      webToken,
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
