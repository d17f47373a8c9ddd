import type { DeploymentChanges } from '../../db/entities/index.js';
import type {
  CommitBehaviour,
  DeploymentKind,
  DeploymentStatus,
  EnvironmentTier,
  PipelineStatus,
  PipelineStepKind,
  PipelineStepStatus,
} from '../../vocabulary.js';

/**
 * What Slipway tells channels about (DESIGN.md §3 "Notification channel"). A channel subscribes
 * to any of these; the names are stable: they are stored, sent in webhook bodies and used in the
 * API and `slipway apply`.
 */
export const NOTIFICATION_EVENT_TYPES = [
  'deployment.queued',
  'deployment.started',
  'deployment.finished',
  'deployment.failed',
  'deployment.cancelled',
  'approval.requested',
  'approval.approved',
  'approval.rejected',
  'approval.expired',
  'heartbeat.missing',
  'heartbeat.recovered',
  'environment.locked',
  'environment.unlocked',
  'push.refused',
  'pipeline.started',
  /** A run stopped at a confirmation: the card carries Confirm and Reject. */
  'pipeline.waiting',
  'pipeline.finished',
  'pipeline.failed',
] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENT_TYPES)[number];

/**
 * What a channel created without a list of events hears: everything but `deployment.queued`,
 * which the start follows within moments (channels that want it, and the GitHub reports, name it).
 */
export const DEFAULT_CHANNEL_EVENTS: readonly NotificationEventType[] = NOTIFICATION_EVENT_TYPES.filter(
  (type) => type !== 'deployment.queued',
);

export function isNotificationEventType(value: string): value is NotificationEventType {
  return (NOTIFICATION_EVENT_TYPES as readonly string[]).includes(value);
}

/** A deployment as it was when the event happened (rendered without reading the database again). */
export interface DeploymentSnapshot {
  id: string;
  number: number;
  project: string;
  environment: string;
  /** The environment's tier and external URL (`environment_url` of a GitHub deployment). */
  environmentTier: EnvironmentTier;
  environmentUrl: string | null;
  kind: DeploymentKind;
  status: DeploymentStatus;
  ref: string;
  commit: string | null;
  commitMessage: string | null;
  commitAuthor: string | null;
  /** The commits it ships; absent in events written before they were recorded. */
  changes?: DeploymentChanges | null;
  promotedFrom: string | null;
  requestedBy: string;
  releaseName: string | null;
  /** Forced past a gate or a freeze by an admin, and why; absent in older events. */
  forced?: boolean;
  forceReason?: string | null;
  /** The release live before this one; absent in events written before it was recorded. */
  previousRelease?: string | null;
  failureReason: string | null;
  cancelRequestedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  /** The step that failed, with its last lines of output (secrets already redacted). */
  failedStep: { server: string; name: string; outputTail: string | null } | null;
  approval: {
    status: string;
    required: number;
    approverRole: string;
    approvedBy: string[];
    rejectedBy: string[];
    expiresAt: string;
  } | null;
}

export interface DeploymentNotificationData {
  deployment: DeploymentSnapshot;
  /** Who caused this event (the approver, the canceller), when a person did. */
  actor: string | null;
}

export interface HeartbeatNotificationData {
  heartbeat: {
    id: string;
    name: string;
    schedule: string;
    lastCheckInAt: string | null;
    /** The deadline that passed (missing) or was met late (recovered). */
    dueAt: string | null;
    missingSince: string | null;
  };
  /** `overdue`: no check-in by the deadline; `failed`: the job reported failure. */
  reason: 'overdue' | 'failed' | null;
  /** What the job sent with its failure report (truncated), if anything. */
  message: string | null;
  /** For a recovery: how long it was missing. */
  downtimeMs: number | null;
  /** The alert was held during a deployment and is sent now that it ended. */
  heldDuringDeployment: boolean;
}

export interface LockNotificationData {
  environment: string;
  holder: string;
  reason: string | null;
  expiresAt: string | null;
  /** Who did it (for an unlock by an admin, not the holder). */
  actor: string;
  /** An admin broke someone else's lock. */
  broken: boolean;
}

/** A push that should have built a deployment and could not (the environment was locked, busy, …). */
export interface PushRefusedData {
  environment: string;
  behaviour: CommitBehaviour;
  branch: string;
  commit: string;
  commitMessage: string | null;
  commitAuthor: string | null;
  /** Who pushed (`github:octocat`). */
  pushedBy: string;
  /** Why, for people, and as the stable code (`environment_locked`, `environment_busy`, …). */
  reason: string;
  code: string;
}

/** A step of a pipeline run, as cards and webhook receivers see it. */
export interface PipelineStepSnapshot {
  id: string;
  type: PipelineStepKind;
  status: PipelineStepStatus;
  /** A deploy step: the deployment it asked for. */
  deployment: { id: string; number: number; kind: DeploymentKind; status: DeploymentStatus } | null;
  /** A confirmation: who may confirm (a role, or named people), and who decided. */
  role: string | null;
  users: { key: string; name: string | null }[];
  decidedBy: string | null;
  /** A smoke step's command; a webhook step's host (the URL may carry a token). */
  command: string | null;
  host: string | null;
  /** What happened: the smoke output's end, the webhook's answer, why it failed. */
  detail: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface PipelinePhaseSnapshot {
  name: string;
  environment: string;
  status: PipelineStatus;
  steps: PipelineStepSnapshot[];
}

/** A pipeline run as it was when the event happened (Escape's execution: status, run number, phases). */
export interface PipelineExecutionSnapshot {
  id: string;
  runNumber: number;
  pipeline: string;
  project: string;
  status: PipelineStatus;
  ref: string;
  commit: string;
  commitMessage: string | null;
  commitAuthor: string | null;
  requestedBy: string;
  requestedById: string | null;
  source: string;
  forced: boolean;
  forceReason: string | null;
  failureReason: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The confirmation the run waits at, if it does. */
  waitingFor: {
    stepId: string;
    phase: string;
    role: string | null;
    users: { key: string; name: string | null }[];
  } | null;
  phases: PipelinePhaseSnapshot[];
}

export interface PipelineNotificationData {
  execution: PipelineExecutionSnapshot;
  /** Who caused this event (the confirmer, the rejecter), when a person did. */
  actor: string | null;
}

type DataOf<T extends NotificationEventType> = T extends `deployment.${string}` | `approval.${string}`
  ? DeploymentNotificationData
  : T extends `heartbeat.${string}`
    ? HeartbeatNotificationData
    : T extends `push.${string}`
      ? PushRefusedData
      : T extends `pipeline.${string}`
        ? PipelineNotificationData
        : LockNotificationData;

/** An event to write to the outbox. `subject` groups the notifications shown as one message edited in place. */
export type NewNotification = {
  [T in NotificationEventType]: {
    type: T;
    projectId: string | null;
    project: string | null;
    subject: string | null;
    data: DataOf<T>;
  };
}[NotificationEventType];

/** An event as stored: with its id, its order and when it happened. */
export type Notification = NewNotification & { id: string; seq: number; occurredAt: string };

export const deploymentSubject = (deploymentId: string) => `deployment:${deploymentId}`;
export const pipelineExecutionSubject = (executionId: string) => `pipeline-execution:${executionId}`;
