/**
 * The closed vocabularies of the domain (DESIGN.md §3): the words every layer shares. It sits
 * below everything — the entities import it, not the other way round — so chat, commands, the
 * REST API and the adapters can speak of roles, statuses and platforms without the ORM.
 */
export const REPOSITORY_PROVIDERS = ['github', 'gitlab', 'bitbucket', 'git'] as const;
export const TEST_GATE_MODES = ['block', 'warn'] as const;
export const SERVER_TRANSPORTS = ['ssh', 'local'] as const;
export const CONNECTION_STATUSES = ['unknown', 'successful', 'failed'] as const;
export const ENVIRONMENT_TIERS = ['production', 'staging', 'testing', 'development', 'other'] as const;
export const ENVIRONMENT_STATES = ['available', 'stopping', 'stopped'] as const;
export const COMMIT_BEHAVIOURS = ['do_nothing', 'create_new_build', 'update_previous_build'] as const;
export const HOOK_ACTIONS = ['clone', 'install', 'activate', 'purge'] as const;
export const HOOK_TIMINGS = ['before', 'after'] as const;
export const DEPLOYMENT_KINDS = ['deploy', 'promote', 'rollback'] as const;
export const DEPLOYMENT_STATUSES = [
  'awaiting_approval',
  'queued',
  'running',
  'finished',
  'failed',
  'cancelled',
  'rejected',
  'expired',
] as const;
/** Statuses that hold an environment's run slot (enforced by a partial unique index). */
export const ACTIVE_DEPLOYMENT_STATUSES = ['queued', 'running'] as const;
export const STEP_STATUSES = ['pending', 'running', 'finished', 'failed', 'cancelled', 'skipped'] as const;
export const APPROVAL_REQUEST_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'cancelled'] as const;
export const APPROVAL_DECISIONS = ['approve', 'reject'] as const;
export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export const HEARTBEAT_STATUSES = ['new', 'healthy', 'missing'] as const;
/** Where notifications go; `github` reports deployments to the project's GitHub repository (Deployments API). */
export const NOTIFICATION_PLATFORMS = ['slack', 'discord', 'teams', 'webhook', 'email', 'github'] as const;
export const CHAT_PLATFORMS = ['slack', 'discord', 'teams', 'web'] as const;
export const PIPELINE_STEP_KINDS = ['deploy', 'confirmation', 'run-smoke', 'webhook-trigger'] as const;
/** Escape's statuses of a pipeline execution and of its phases (`pending` also while waiting at a confirmation). */
export const PIPELINE_STATUSES = ['new', 'pending', 'running', 'ok', 'failed'] as const;
/** Statuses that hold a pipeline's run slot: one execution at a time (a partial unique index). */
export const ACTIVE_PIPELINE_STATUSES = ['new', 'pending', 'running'] as const;
/** A step of an execution: a step after a failure is `skipped`. */
export const PIPELINE_STEP_STATUSES = ['new', 'pending', 'running', 'ok', 'failed', 'skipped'] as const;
/** A commit's test result as CI reports it (GitHub's commit-status states). */
export const COMMIT_STATUS_STATES = ['pending', 'success', 'failure', 'error'] as const;
export const AUDIT_RESULTS = ['ok', 'refused', 'failed'] as const;

export type RepositoryProvider = (typeof REPOSITORY_PROVIDERS)[number];
export type TestGateMode = (typeof TEST_GATE_MODES)[number];
export type ServerTransport = (typeof SERVER_TRANSPORTS)[number];
export type EnvironmentTier = (typeof ENVIRONMENT_TIERS)[number];
export type EnvironmentState = (typeof ENVIRONMENT_STATES)[number];
export type CommitBehaviour = (typeof COMMIT_BEHAVIOURS)[number];
export type HookAction = (typeof HOOK_ACTIONS)[number];
export type HookTiming = (typeof HOOK_TIMINGS)[number];
export type DeploymentKind = (typeof DEPLOYMENT_KINDS)[number];
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];
export type StepStatus = (typeof STEP_STATUSES)[number];
export type Role = (typeof ROLES)[number];
export type HeartbeatStatus = (typeof HEARTBEAT_STATUSES)[number];
export type NotificationPlatform = (typeof NOTIFICATION_PLATFORMS)[number];
export type ChatPlatform = (typeof CHAT_PLATFORMS)[number];
export type PipelineStepKind = (typeof PIPELINE_STEP_KINDS)[number];
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];
export type PipelineStepStatus = (typeof PIPELINE_STEP_STATUSES)[number];
export type CommitStatusState = (typeof COMMIT_STATUS_STATES)[number];
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/**
 * The ids Slipway makes (UUIDs) and the numbers people type for deployments: what an id or a
 * number must look like before it may reach a query (a uuid or int column refuses anything else
 * with an SQL error, not a message).
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** At most 9 digits: always within PostgreSQL's integer. */
export const DEPLOYMENT_NUMBER_PATTERN = /^\d{1,9}$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

export function roleAtLeast(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/**
 * What an API token may change (Envoyer's scopes). Every GET needs only a valid token;
 * `*:create` covers creating and updating. Roles still apply on top: a token acts as its
 * member, so a scope never grants more than the member's role on the project allows.
 */
export const API_SCOPES = [
  'projects:create',
  'projects:delete',
  'servers:create',
  'servers:delete',
  'environments:create',
  'environments:delete',
  'hooks:create',
  'hooks:delete',
  'deployments:create',
  'deployments:delete',
  'heartbeats:create',
  'heartbeats:delete',
  'notifications:create',
  'notifications:delete',
  'collaborators:create',
  'collaborators:delete',
  'tokens:create',
  'tokens:delete',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export function isApiScope(value: string): value is ApiScope {
  return (API_SCOPES as readonly string[]).includes(value);
}
