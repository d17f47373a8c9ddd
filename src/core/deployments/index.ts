// The rules of refs and release names (they reach a shell): the API validates with the same ones.
export { isReleaseName, isSafeRef, validateRef } from '../../engine/index.js';
export { CommitResolver } from './commit-resolver.js';
export { DeploymentExecutor } from './deployment-executor.js';
export { DeploymentPlanBuilder, planServer } from './deployment-plan-builder.js';
export { DeploymentReaper } from './deployment-reaper.js';
export type { DeploymentDetail, DeploymentListItem } from './deployment-records.js';
export { DeploymentRecords } from './deployment-records.js';
export { DeploymentService } from './deployment-service.js';
export type { DeploymentView, EnvironmentSummary } from './deployment-views.js';
export { DeploymentViews } from './deployment-views.js';
export { LockService } from './lock-service.js';
export { RollbackTargets } from './rollback-target.js';
export { RunLiveness } from './run-liveness.js';
