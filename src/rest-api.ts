import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { AccessPolicy } from './core/access-policy.js';
import { ApiTokenService } from './core/api-token-service.js';
import type { ApprovalService } from './core/approval-service.js';
import { CommitResolver } from './core/commit-resolver.js';
import { CommitStatusService } from './core/commit-status-service.js';
import { DeploymentRecords } from './core/deployment-records.js';
import type { DeploymentService } from './core/deployment-service.js';
import type { DeploymentViews } from './core/deployment-views.js';
import { EnvironmentFileService } from './core/environment-file.js';
import { EnvironmentService } from './core/environment-service.js';
import { HookService } from './core/hook-service.js';
import type { LockService } from './core/lock-service.js';
import { PipelineView } from './core/pipeline-view.js';
import { ProjectService } from './core/project-service.js';
import type { ProjectSetup } from './core/project-setup.js';
import { PromotionService } from './core/promotion-service.js';
import { ReviewApps } from './core/review-apps.js';
import type { SecretBox } from './core/secret-box.js';
import { ServerConnectionCheck } from './core/server-connection-check.js';
import { ServerService } from './core/server-service.js';
import { TestGate } from './core/test-gate.js';
import type { Orm } from './db/orm.js';
import type { DeploymentRunner } from './engine/index.js';
import { type ApiRouteModule, registerApi } from './http/api/index.js';
import type { Logger } from './logger.js';

/** How often environments past their auto_stop_at are stopped. */
const AUTO_STOP_INTERVAL_MS = 60_000;

export type ApiServices = ReturnType<typeof createApiServices>;

/** The services behind the REST API and `slipway apply`, on top of the ones chat uses. */
export function createApiServices(options: {
  config: Pick<Config, 'SLIPWAY_SSH_CONNECT_TIMEOUT_MS'>;
  orm: Orm;
  secrets: SecretBox;
  access: AccessPolicy;
  setup: ProjectSetup;
  deployments: DeploymentService;
  views: DeploymentViews;
  runner: DeploymentRunner;
}) {
  const { orm, secrets, access, setup, deployments, views } = options;
  const statuses = new CommitStatusService(orm);
  const environments = new EnvironmentService(orm, setup);
  return {
    tokens: new ApiTokenService(orm, access),
    projects: new ProjectService(orm, setup, access),
    servers: new ServerService(orm, setup),
    connections: new ServerConnectionCheck(orm, options.runner, secrets, {
      connectTimeoutMs: options.config.SLIPWAY_SSH_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: 30_000,
    }),
    hooks: new HookService(orm, setup),
    environmentFile: new EnvironmentFileService(orm, secrets, setup),
    environments,
    reviewApps: new ReviewApps(orm, setup, environments),
    promotions: new PromotionService(
      orm,
      deployments,
      access,
      new TestGate(statuses),
      new CommitResolver(),
      secrets,
    ),
    pipeline: new PipelineView(orm, statuses),
    statuses,
    records: new DeploymentRecords(orm, views),
  };
}

/**
 * The REST API on the service's HTTP server, and the auto-stop sweep of environments. main.ts
 * calls this before the server listens; the returned function stops the sweep.
 */
export async function mountRestApi(options: {
  config: Config;
  logger: Logger;
  http: FastifyInstance;
  services: ApiServices;
  access: AccessPolicy;
  deployments: DeploymentService;
  approvals: ApprovalService;
  locks: LockService;
  extraRoutes?: ApiRouteModule[];
}): Promise<() => Promise<void>> {
  const { config, services } = options;
  await registerApi(
    options.http,
    {
      ...services,
      access: options.access,
      deployments: options.deployments,
      approvals: options.approvals,
      locks: options.locks,
    },
    {
      rateLimit: config.SLIPWAY_API_RATE_LIMIT,
      rateWindowMs: config.SLIPWAY_API_RATE_WINDOW_SECONDS * 1000,
      publicUrl: config.publicUrl,
      version: '1.0.0',
    },
    options.extraRoutes ?? [],
  );
  const logger = options.logger.child({ component: 'auto-stop' });
  const sweep = setInterval(() => {
    services.environments
      .stopDue()
      .then((stopped) => {
        if (stopped.length) logger.info({ stopped }, 'environments stopped at their auto_stop_at');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'auto-stop sweep failed'));
  }, AUTO_STOP_INTERVAL_MS);
  sweep.unref();
  return async () => clearInterval(sweep);
}
