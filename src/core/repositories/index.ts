export { CiResults } from './ci-results.js';
export type { ReportingSync } from './deployment-reporting.js';
export { DeploymentReporting, REPORTING_CHANNEL } from './deployment-reporting.js';
export type { PendingCommitView } from './pending-commits.js';
export { PendingCommits } from './pending-commits.js';
export { PushHandler } from './push-handler.js';
export type {
  CiOutcome,
  CiResult,
  PushedCommit,
  PushOutcome,
  PushResult,
  RepositoryHost,
  RepositoryPush,
} from './repository-events.js';
