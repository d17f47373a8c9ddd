import type { Config } from '../config.js';
import { AccessPolicy, ApiTokenService, ConsoleSignIn, InboundLedger } from '../core/access/index.js';
import { ApprovalService } from '../core/approvals/index.js';
import { ConfigPlanner } from '../core/config-apply/index.js';
import {
  CommitContext,
  CommitLog,
  CommitResolver,
  DeploymentExecutor,
  DeploymentMessages,
  DeploymentPlanBuilder,
  DeploymentReaper,
  DeploymentRecords,
  DeploymentService,
  DeploymentViews,
  FreezeWindows,
  LockService,
  ProjectCommits,
  RollbackTargets,
  type RunLiveness,
} from '../core/deployments/index.js';
import { HeartbeatService, HeartbeatSweep } from '../core/heartbeats/index.js';
import {
  type DeliveryPolicy,
  NotificationChannelService,
  NotificationDeliveryWorker,
  NotificationOutbox,
  type NotificationSender,
} from '../core/notifications/index.js';
import {
  PipelineExecutions,
  PipelineRunner,
  PipelineService,
  PipelineView,
} from '../core/pipelines/index.js';
import {
  EnvironmentFileService,
  EnvironmentService,
  HookService,
  NameSuggestions,
  ProjectService,
  ProjectSetup,
  ReviewApps,
  ServerConnectionCheck,
  ServerService,
} from '../core/projects/index.js';
import { CommitStatusService, PromotionService, TestGate } from '../core/promotions/index.js';
import { CiResults, DeploymentReporting, PendingCommits, PushHandler } from '../core/repositories/index.js';
import type { SecretBox } from '../core/secrets/index.js';
import type { IDeployment } from '../db/entities/index.js';
import type { Orm } from '../db/orm.js';
import { DeploymentRunner } from '../engine/index.js';
import type { DeploymentQueue } from '../jobs/deployment-queue.js';
import type { NotificationQueue } from '../jobs/notification-queue.js';
import type { PipelineQueue } from '../jobs/pipeline-queue.js';
import type { Logger } from '../logger.js';
import type { OutboundGuard } from '../net/outbound-guard.js';

/** What every service stands on. */
export interface ServiceBase {
  config: Config;
  logger: Logger;
  orm: Orm;
  secrets: SecretBox;
  /** The platforms' notification senders (adapters/index.ts). */
  senders: readonly NotificationSender[];
  /**
   * The outbound target guard: every URL called on a user's behalf (webhooks, health checks,
   * http(s) repositories) goes through it. One per process, handed to whatever calls out.
   */
  outbound: OutboundGuard;
}

/** The running service's queues and the liveness connection its deployments hold locks on. */
export interface ServiceJobs {
  deployments: DeploymentQueue;
  notifications: NotificationQueue;
  pipelines: PipelineQueue;
  liveness: RunLiveness;
  /** This process, as recorded on the deployments and deliveries it works on. */
  instanceId: string;
  /** How the delivery worker retries (tests shorten it). */
  deliveryPolicy?: Partial<DeliveryPolicy>;
}

/** Who hears about deployments as they run (chat's progress messages, metrics). */
export interface DeploymentObservers {
  /** Claimed by this process's executor (queued → running). */
  onStarted?: (deployment: IDeployment) => void;
  onEnded?: (deployment: IDeployment) => void;
  onProgress?: (deploymentId: string) => void;
  /** A pipeline run changed (chat edits the messages that show it). */
  onPipelineProgress?: (executionId: string) => void;
}

export type AdminServices = ReturnType<typeof buildAdminServices>;
export type Services = ReturnType<typeof buildServices>;

/**
 * The services that read and change configuration — projects, servers, environments, hooks,
 * members, notification channels, tokens, and `slipway apply`'s planner. The CLI uses these
 * alone: they need no queue, no worker and no HTTP server.
 */
export function buildAdminServices(base: ServiceBase, queue: NotificationQueue | null = null) {
  const { orm, secrets, config, logger } = base;
  const access = new AccessPolicy(orm, config.admins);
  const setup = new ProjectSetup(secrets, access);
  const channels = new NotificationChannelService(orm, secrets, queue, base.senders, base.outbound);
  const reporting = new DeploymentReporting(
    orm,
    channels,
    base.senders,
    logger.child({ component: 'github' }),
  );
  // A project that gains (or changes) its GitHub repository gets its reporting channel at once;
  // the periodic sync repairs what a failure here leaves.
  const projects = new ProjectService(orm, setup, access, () =>
    reporting.sync().then(
      () => undefined,
      (error: unknown) => logger.warn({ err: error }, 'could not update the GitHub reporting channels'),
    ),
  );
  const servers = new ServerService(orm, setup);
  const environments = new EnvironmentService(orm, setup);
  const hooks = new HookService(orm, setup);
  const freezes = new FreezeWindows(orm);
  const pipelines = new PipelineService(orm, secrets, access);
  return {
    access,
    setup,
    reporting,
    projects,
    servers,
    environments,
    hooks,
    channels,
    tokens: new ApiTokenService(orm, access),
    consoleSignIn: new ConsoleSignIn(orm, access, { publicUrl: config.publicUrl }),
    freezes,
    pipelines,
    planner: new ConfigPlanner({
      projects,
      servers,
      environments,
      hooks,
      access,
      channels,
      freezes,
      pipelines,
    }),
  };
}

/**
 * Every service of a running Slipway, built once, in one place: what `slipway start` runs,
 * what the REST API, chat and the schedules call, and what the tests start.
 */
export function buildServices(base: ServiceBase, jobs: ServiceJobs, observers: DeploymentObservers = {}) {
  const { orm, secrets, config, logger } = base;
  const admin = buildAdminServices(base, jobs.notifications);
  const { access, setup, environments, freezes } = admin;

  const outbox = new NotificationOutbox(jobs.notifications);
  const deliveries = new NotificationDeliveryWorker({
    orm,
    queue: jobs.notifications,
    secrets,
    instanceId: jobs.instanceId,
    logger: logger.child({ component: 'notifications' }),
    senders: base.senders,
    policy: {
      maxAttempts: config.SLIPWAY_NOTIFY_MAX_ATTEMPTS,
      retryBaseMs: config.SLIPWAY_NOTIFY_RETRY_BASE_MS,
      timeoutMs: config.SLIPWAY_NOTIFY_TIMEOUT_MS,
      ...jobs.deliveryPolicy,
    },
  });
  const heartbeats = new HeartbeatService(orm, outbox, { publicUrl: config.publicUrl });
  const heartbeatSweep = new HeartbeatSweep(orm, outbox, logger.child({ component: 'notifications' }));

  const runner = new DeploymentRunner();
  const plans = new DeploymentPlanBuilder(secrets, config, base.outbound);
  // git reaches http(s) repositories through the outbound guard too.
  const resolver = new CommitResolver(base.outbound);
  const views = new DeploymentViews(orm, freezes);
  const commits = new CommitContext(
    new CommitLog({ cacheDir: config.gitCacheDir, outbound: base.outbound }),
    secrets,
    logger.child({ component: 'commits' }),
  );
  const statuses = new CommitStatusService(orm);
  const gate = new TestGate(statuses);
  const deployments = new DeploymentService({
    orm,
    queue: jobs.deployments,
    resolver,
    secrets,
    rollbackTargets: new RollbackTargets(runner, plans),
    commits,
    access,
    gate,
    freezes,
    notifications: outbox,
  });
  const approvals = new ApprovalService(orm, access, deployments, outbox);
  const pipelineRunner = new PipelineRunner({
    orm,
    queue: jobs.pipelines,
    deployments,
    runner,
    plans,
    secrets,
    liveness: jobs.liveness,
    instanceId: jobs.instanceId,
    logger: logger.child({ component: 'pipelines' }),
    fetch: base.outbound.fetch,
    webhookTimeoutMs: config.SLIPWAY_NOTIFY_TIMEOUT_MS,
    notifications: outbox,
    onProgress: observers.onPipelineProgress,
  });
  const executions = new PipelineExecutions({
    orm,
    queue: jobs.pipelines,
    access,
    resolver,
    commits,
    secrets,
    gate,
    freezes,
    notifications: outbox,
    onProgress: observers.onPipelineProgress,
  });
  const locks = new LockService(orm, access, outbox);
  const executor = new DeploymentExecutor({
    orm,
    runner,
    plans,
    liveness: jobs.liveness,
    instanceId: jobs.instanceId,
    logger,
    requeue: (id) => jobs.deployments.enqueue(id),
    onStarted: observers.onStarted,
    onEnded: observers.onEnded,
    onProgress: observers.onProgress,
    notifications: outbox,
    outbound: base.outbound.fetch,
    onFinished: (tx, id) => pipelineRunner.deploymentEnded(tx, id),
  });
  const reaper = new DeploymentReaper({
    orm,
    runner,
    plans,
    liveness: jobs.liveness,
    logger,
    isRunningHere: (id) => executor.isRunning(id),
    requeue: (id) => jobs.deployments.enqueue(id),
    onEnded: observers.onEnded,
    notifications: outbox,
  });

  const pendingCommits = new PendingCommits(orm);
  return {
    ...admin,
    outbox,
    deliveries,
    heartbeats,
    heartbeatSweep,
    runner,
    views,
    messages: new DeploymentMessages(orm),
    names: new NameSuggestions(orm),
    inbound: new InboundLedger(orm),
    deployments,
    approvals,
    locks,
    executor,
    reaper,
    statuses,
    promotions: new PromotionService(orm, deployments, access, gate, resolver, secrets),
    pipeline: new PipelineView(orm, statuses, executions),
    executions,
    pipelineRunner,
    records: new DeploymentRecords(orm, views),
    commits: new ProjectCommits(orm, resolver, commits, secrets),
    connections: new ServerConnectionCheck(orm, runner, secrets, {
      connectTimeoutMs: config.SLIPWAY_SSH_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: 30_000,
    }),
    environmentFile: new EnvironmentFileService(orm, secrets, setup),
    reviewApps: new ReviewApps(orm, setup, environments),
    pendingCommits,
    pushes: new PushHandler({
      orm,
      deployments,
      pending: pendingCommits,
      notifications: outbox,
      onMoved: observers.onProgress,
    }),
    ciResults: new CiResults(orm, statuses),
  };
}
