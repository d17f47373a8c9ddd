import type { AccessPolicy, ApiTokenService } from '../../core/access/index.js';
import type { ApprovalService } from '../../core/approvals/index.js';
import type {
  DeploymentRecords,
  DeploymentService,
  FreezeWindows,
  LockService,
  ProjectCommits,
} from '../../core/deployments/index.js';
import type { HeartbeatService } from '../../core/heartbeats/index.js';
import type { NotificationChannelService } from '../../core/notifications/index.js';
import type { PipelineExecutions, PipelineService, PipelineView } from '../../core/pipelines/index.js';
import type {
  EnvironmentFileService,
  EnvironmentService,
  HookService,
  ProjectService,
  ReviewApps,
  ServerConnectionCheck,
  ServerService,
} from '../../core/projects/index.js';
import type { CommitStatusService, PromotionService } from '../../core/promotions/index.js';
import type { PendingCommits } from '../../core/repositories/index.js';
import type { SlipwayError } from '../../errors.js';

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
  pipelines: PipelineService;
  executions: PipelineExecutions;
  statuses: CommitStatusService;
  deployments: DeploymentService;
  records: DeploymentRecords;
  commits: ProjectCommits;
  freezes: FreezeWindows;
  approvals: ApprovalService;
  locks: LockService;
  heartbeats: HeartbeatService;
  channels: NotificationChannelService;
  pendingCommits: PendingCommits;
}

export interface ApiSettings {
  /** Requests per token (or per address, before a token is known) per window. */
  rateLimit: number;
  rateWindowMs: number;
  publicUrl: string;
  version: string;
  /** Reads errors caused by the input (the database refusing a value) as their 4xx. */
  inputError?: (error: unknown) => SlipwayError | undefined;
}
