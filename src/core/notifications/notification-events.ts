import type { DeploymentChanges } from '../../db/entities/index.js';
import type { DeploymentKind, DeploymentStatus } from '../../vocabulary.js';

/**
 * What Slipway tells channels about (DESIGN.md §3 "Notification channel"). A channel subscribes
 * to any of these; the names are stable: they are stored, sent in webhook bodies and used in the
 * API and `slipway apply`.
 */
export const NOTIFICATION_EVENT_TYPES = [
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
] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENT_TYPES)[number];

export function isNotificationEventType(value: string): value is NotificationEventType {
  return (NOTIFICATION_EVENT_TYPES as readonly string[]).includes(value);
}

/** A deployment as it was when the event happened (rendered without reading the database again). */
export interface DeploymentSnapshot {
  id: string;
  number: number;
  project: string;
  environment: string;
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

type DataOf<T extends NotificationEventType> = T extends `deployment.${string}` | `approval.${string}`
  ? DeploymentNotificationData
  : T extends `heartbeat.${string}`
    ? HeartbeatNotificationData
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
