/** The deploy engine's public surface, for src/core. */
export type { CommandRun, ServerCommandResult } from './command-run.js';
export type { Convergence, ConvergenceReport } from './convergence.js';
export {
  DeploymentRunner,
  type DeploymentRunnerOptions,
  type TransportFactory,
} from './deployment-runner.js';
export { fingerprintOfPublicKeyLine, sha256Fingerprint } from './fingerprint.js';
export { releaseBefore } from './inspection.js';
export { generateProjectKeyPair, type ProjectKeyPair } from './keys.js';
export type * from './plan.js';
export { validatePlan, validateRepository, validateServer } from './plan-validation.js';
export { envFileSecretValues, Redactor } from './redaction.js';
export {
  ENV_FILE_NAME,
  isSafeRef,
  type RefRule,
  validateLinkedFolder,
  validateLinkedFolderPath,
  validatePathSegment,
  validateRef,
} from './ref.js';
export { formatReleaseName, isReleaseName, validateReleaseName } from './release-name.js';
export { shellQuote } from './shell-quote.js';
export { actionStep, planSteps, toStepInfo } from './steps.js';
export { LocalTransport } from './transport/local-transport.js';
export { SshTransport, type SshTransportOptions } from './transport/ssh-transport.js';
export type { ExecOptions, ExecResult, Transport } from './transport/transport.js';
