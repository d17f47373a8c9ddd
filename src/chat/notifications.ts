import type { DeploymentView } from '../core/deployments/index.js';
import type {
  DeploymentSnapshot,
  HeartbeatNotificationData,
  LockNotificationData,
  Notification,
  PushRefusedData,
} from '../core/notifications/index.js';
import type { Reply, ReplyField } from './model.js';
import { executionReply } from './pipeline-replies.js';
import { deploymentReply, formatDuration, utc } from './replies.js';

/**
 * What a channel shows for an event: the neutral Reply that each platform's renderer turns into
 * Block Kit, an embed, an Adaptive Card, an e-mail or plain text. A deployment's notifications are the
 * same card as in chat (edited in place where the platform allows), so a channel and the person
 * who typed /deploy see one story.
 */
export function notificationReply(event: Notification): Reply {
  switch (event.type) {
    case 'deployment.queued':
    case 'deployment.started':
    case 'deployment.finished':
    case 'deployment.failed':
    case 'deployment.cancelled':
    case 'approval.requested':
    case 'approval.approved':
    case 'approval.rejected':
    case 'approval.expired':
      return deploymentNotification(event.data.deployment);
    case 'heartbeat.missing':
      return heartbeatMissing(event.project ?? '?', event.data);
    case 'heartbeat.recovered':
      return heartbeatRecovered(event.project ?? '?', event.data);
    case 'environment.locked':
    case 'environment.unlocked':
      return lockNotification(event.type, event.project ?? '?', event.data);
    case 'push.refused':
      return pushRefused(event.project ?? '?', event.data);
    case 'pipeline.started':
    case 'pipeline.waiting':
    case 'pipeline.finished':
    case 'pipeline.failed':
      return executionReply(event.data.execution);
  }
}

/** One line that says what happened, for subjects, previews and push notifications. */
export function notificationSummary(event: Notification): string {
  const reply = notificationReply(event);
  return reply.title ?? reply.text;
}

function deploymentNotification(d: DeploymentSnapshot): Reply {
  const view: DeploymentView = {
    id: d.id,
    number: d.number,
    project: d.project,
    environment: d.environment,
    kind: d.kind,
    status: d.status,
    ref: d.ref,
    commit: d.commit,
    commitMessage: d.commitMessage,
    commitAuthor: d.commitAuthor,
    changes: d.changes ?? null,
    promotedFrom: d.promotedFrom,
    requestedBy: d.requestedBy,
    requestedById: null,
    releaseName: d.releaseName,
    forced: d.forced ?? false,
    forceReason: d.forceReason ?? null,
    previousRelease: d.previousRelease ?? null,
    failureReason: d.failureReason,
    cancelRequestedBy: d.cancelRequestedBy,
    createdAt: new Date(d.createdAt),
    startedAt: d.startedAt ? new Date(d.startedAt) : null,
    finishedAt: d.finishedAt ? new Date(d.finishedAt) : null,
    durationMs: d.durationMs,
    servers: d.failedStep
      ? [
          {
            server: d.failedStep.server,
            done: 0,
            total: 0,
            current: null,
            failed: { name: d.failedStep.name, status: 'failed', outputTail: d.failedStep.outputTail },
          },
        ]
      : [],
    approval: d.approval
      ? {
          status: d.approval.status,
          required: d.approval.required,
          approverRole: d.approval.approverRole,
          approvedBy: d.approval.approvedBy,
          rejectedBy: d.approval.rejectedBy,
          expiresAt: new Date(d.approval.expiresAt),
        }
      : null,
  };
  return deploymentReply(view);
}

function heartbeatFields(project: string, data: HeartbeatNotificationData): ReplyField[] {
  const h = data.heartbeat;
  return [
    { label: 'Project', value: project },
    { label: 'Schedule', value: h.schedule },
    { label: 'Last check-in', value: h.lastCheckInAt ? utc(new Date(h.lastCheckInAt)) : 'never' },
  ];
}

function heartbeatMissing(project: string, data: HeartbeatNotificationData): Reply {
  const h = data.heartbeat;
  let text: string;
  if (data.reason === 'failed') {
    text = `The job reported a failure${h.lastCheckInAt ? `; its last successful check-in was ${utc(new Date(h.lastCheckInAt))}` : ''}.`;
  } else {
    const due = h.dueAt ? ` It was due by ${utc(new Date(h.dueAt))}.` : '';
    text = h.lastCheckInAt
      ? `No check-in since ${utc(new Date(h.lastCheckInAt))}.${due}`
      : `It has never checked in.${due}`;
  }
  if (data.heldDuringDeployment) {
    text += ` This alert was held while ${project} was deploying; the deployment has ended and the heartbeat is still missing.`;
  }
  const reply: Reply = {
    title: `Heartbeat missing · ${project} / ${h.name}`,
    text,
    status: 'error',
    fields: heartbeatFields(project, data),
    footer: `heartbeat ${h.id}`,
  };
  if (data.message) reply.code = data.message;
  return reply;
}

function heartbeatRecovered(project: string, data: HeartbeatNotificationData): Reply {
  const h = data.heartbeat;
  return {
    title: `Heartbeat recovered · ${project} / ${h.name}`,
    text:
      data.downtimeMs !== null
        ? `Checked in again after being missing for ${formatDuration(data.downtimeMs)}.`
        : 'Checked in again.',
    status: 'success',
    fields: heartbeatFields(project, data),
    footer: `heartbeat ${h.id}`,
  };
}

function lockNotification(
  type: 'environment.locked' | 'environment.unlocked',
  project: string,
  data: LockNotificationData,
): Reply {
  const where = `${project}/${data.environment}`;
  if (type === 'environment.locked') {
    return {
      title: `🔒 ${where} locked`,
      text: `Locked by ${data.holder}${data.reason ? `: ${data.reason}` : ''}${data.expiresAt ? `, until ${utc(new Date(data.expiresAt))}` : ''}. Only ${data.holder} can deploy to it.`,
      status: 'warning',
    };
  }
  return {
    title: `🔓 ${where} unlocked`,
    text: data.broken
      ? `${data.actor} broke the lock held by ${data.holder}${data.reason ? ` (${data.reason})` : ''}.`
      : `Unlocked by ${data.actor}.`,
    status: 'info',
  };
}

/** A push that should have deployed and could not: said out loud, so the commit is not silently left behind. */
function pushRefused(project: string, data: PushRefusedData): Reply {
  const commit = data.commit.slice(0, 7);
  const what = data.behaviour === 'update_previous_build' ? 'update the waiting deployment' : 'deploy';
  return {
    title: `⛔ Push not deployed · ${project} → ${data.environment}`,
    text: `${data.pushedBy} pushed ${commit} to ${data.branch}, but Slipway could not ${what}: ${data.reason} Deploy it with /deploy ${project} ${data.environment} once that is resolved.`,
    status: 'warning',
    fields: [
      { label: 'Commit', value: commit },
      ...(data.commitMessage
        ? [
            {
              label: 'Message',
              value: data.commitAuthor ? `${data.commitMessage} (${data.commitAuthor})` : data.commitMessage,
            },
          ]
        : []),
      { label: 'Branch', value: data.branch },
      { label: 'Pushed by', value: data.pushedBy },
    ],
    footer: `push ${data.code}`,
  };
}
