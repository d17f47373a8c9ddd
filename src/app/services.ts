import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { type AccessPolicy, ApiTokenService } from '../core/access/index.js';
import type { ApprovalService } from '../core/approvals/index.js';
import {
  CommitResolver,
  DeploymentRecords,
  type DeploymentService,
  type DeploymentViews,
  type LockService,
} from '../core/deployments/index.js';
import { PipelineView } from '../core/pipelines/index.js';
import {
  EnvironmentFileService,
  EnvironmentService,
  HookService,
  ProjectService,
  type ProjectSetup,
  ReviewApps,
  ServerConnectionCheck,
  ServerService,
} from '../core/projects/index.js';
import { CommitStatusService, PromotionService, TestGate } from '../core/promotions/index.js';
import type { SecretBox } from '../core/secrets/index.js';
import type { Orm } from '../db/orm.js';
import type { DeploymentRunner } from '../engine/index.js';
import { type ApiRouteModule, registerApi } from '../http/api/index.js';
import type { Logger } from '../logger.js';

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
