// The rules of refs and release names (they reach a shell): the API validates with the same ones.
export { isReleaseName, isSafeRef, validateRef } from '../../engine/index.js';
export { CARD_COMMITS, CommitContext, type CommitDetails } from './commit-context.js';
export { type CommitInfo, CommitLog } from './commit-log.js';
export { CommitResolver } from './commit-resolver.js';
export { compareUrl, repositoryHome } from './compare-link.js';
export { DeploymentExecutor } from './deployment-executor.js';
export { DeploymentPlanBuilder, planServer } from './deployment-plan-builder.js';
export { DeploymentReaper } from './deployment-reaper.js';
export type { DeploymentDetail, DeploymentListItem } from './deployment-records.js';
export { DeploymentRecords } from './deployment-records.js';
export { DeploymentService } from './deployment-service.js';
export type { DeploymentView, EnvironmentSummary } from './deployment-views.js';
export { DeploymentViews } from './deployment-views.js';
export { LockService } from './lock-service.js';
export { type CommitsSince, ProjectCommits } from './project-commits.js';
export { RollbackTargets } from './rollback-target.js';
export { RunLiveness } from './run-liveness.js';
