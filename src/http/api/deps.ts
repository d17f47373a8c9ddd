import type { AccessPolicy } from '../../core/access-policy.js';
import type { ApiTokenService } from '../../core/api-token-service.js';
import type { ApprovalService } from '../../core/approval-service.js';
import type { CommitStatusService } from '../../core/commit-status-service.js';
import type { DeploymentRecords } from '../../core/deployment-records.js';
import type { DeploymentService } from '../../core/deployment-service.js';
import type { EnvironmentFileService } from '../../core/environment-file.js';
import type { EnvironmentService } from '../../core/environment-service.js';
import type { HookService } from '../../core/hook-service.js';
import type { LockService } from '../../core/lock-service.js';
import type { PipelineView } from '../../core/pipeline-view.js';
import type { ProjectService } from '../../core/project-service.js';
import type { PromotionService } from '../../core/promotion-service.js';
import type { ReviewApps } from '../../core/review-apps.js';
import type { ServerConnectionCheck } from '../../core/server-connection-check.js';
import type { ServerService } from '../../core/server-service.js';

/** The core services the REST API calls; it holds no logic of its own beyond shapes and roles. */
export interface ApiDeps {
  tokens: ApiTokenService;
  access: AccessPolicy;
  projects: ProjectService;
  servers: ServerService;
  connections: ServerConnectionCheck;
  hooks: HookService;
  environmentFile: EnvironmentFileService;
  environments: EnvironmentService;
  reviewApps: ReviewApps;
  promotions: PromotionService;
  pipeline: PipelineView;
  statuses: CommitStatusService;
  deployments: DeploymentService;
  records: DeploymentRecords;
  approvals: ApprovalService;
  locks: LockService;
}

export interface ApiSettings {
  /** Requests per token (or per address, before a token is known) per window. */
  rateLimit: number;
  rateWindowMs: number;
  publicUrl: string;
  version: string;
}
