import {
  type Notification,
  NotificationSendError,
  type NotificationSender,
  type NotificationSent,
  type OutgoingNotification,
} from '../../src/chat/index.js';
import { type DeploymentState, type GitHubDeploymentRef, GitHubDeploymentsApi } from './deployments-api.js';

type DeploymentEvent = Extract<Notification, { type: `deployment.${string}` | `approval.${string}` }>;

/** Each step of a Slipway deployment as a GitHub deployment status. */
const STATES: Record<DeploymentEvent['type'], DeploymentState> = {
  'deployment.queued': 'queued',
  'approval.requested': 'pending',
  'approval.approved': 'queued',
  'deployment.started': 'in_progress',
  'deployment.finished': 'success',
  'deployment.failed': 'failure',
  // It never went live: not a failure of the code, and not the environment's current state.
  'deployment.cancelled': 'inactive',
  'approval.rejected': 'inactive',
  'approval.expired': 'inactive',
};

const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

export interface GitHubSenderOptions {
  /** GITHUB_TOKEN: without it the sender reports nothing (and says why). */
  token: string | undefined;
  /** GITHUB_API_URL: https://api.github.com, or a GitHub Enterprise server's /api/v3. */
  apiUrl: string;
  /** SLIPWAY_PUBLIC_URL: where each status's log_url points. */
  publicUrl: string;
}

/**
 * Reports Slipway's deployments to GitHub Deployments, so that a repository's Environments tab
 * shows what Slipway did. It is a notification sender for channels of platform `github` (one per
 * project with a GitHub repository, kept by the core): the events come from the outbox, written
 * in the same transaction as each change, and are delivered by the workers with retries — GitHub
 * being down never holds a deployment, and the statuses follow once it is back.
 *
 * The first event of a deployment creates the GitHub deployment (commit, environment); each event
 * adds a status — queued (pending while it awaits approval), in_progress, success or failure
 * (inactive when cancelled, rejected or expired) — with the environment's external URL and a
 * log_url to the deployment in Slipway. A success marks the deployment it replaced inactive. The
 * GitHub deployment's id is remembered as the "message" of the deployment in this channel; a
 * deployment moved to another commit gets a new GitHub deployment (the old one goes inactive).
 * Every status is kept (`keepsHistory`): none is folded into a later one.
 */
export function createGitHubNotificationSender(options: GitHubSenderOptions): NotificationSender {
  const api = options.token
    ? new GitHubDeploymentsApi({ token: options.token, apiUrl: options.apiUrl })
    : null;
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  return {
    platform: 'github',
    // GitHub asks for about a second between content-creating requests.
    paceMs: 1000,
    keepsHistory: true,
    targets: {
      channel: {
        pattern: REPOSITORY,
        message: 'a github channel names the repository to report to: owner/name',
      },
      missing: 'a github channel needs channel: the repository to report to, owner/name',
    },
    canEdit: () => true,
    unavailable: () =>
      api ? null : 'GITHUB_TOKEN is not set, so this Slipway cannot report deployments to GitHub',
    async send(notification: OutgoingNotification): Promise<NotificationSent> {
      if (!api) throw new NotificationSendError('permanent', 'GITHUB_TOKEN is not set');
      const target = notification.channel.target;
      if (target.kind !== 'channel' || !REPOSITORY.test(target.channel)) {
        throw new NotificationSendError('permanent', 'a github channel needs a repository, owner/name');
      }
      const event = notification.event;
      if (!isDeploymentEvent(event)) return { message: null };
      const d = event.data.deployment;
      // A rollback switches releases and names no commit: there is nothing GitHub can show for it.
      if (!d.commit) return { message: notification.previous };
      const repository = target.channel;
      const { signal } = notification;
      const created = { sha: d.commit, environment: d.environment, slipwayId: d.id };

      let ref = parseRef(notification.previous?.messageId);
      if (ref && ref.sha !== d.commit) {
        // Moved to another commit (update_previous_build): a GitHub deployment is of one commit.
        await api.addStatus(
          repository,
          ref.id,
          {
            state: 'inactive',
            description: `Moved to ${d.commit.slice(0, 7)}`,
            environmentUrl: null,
            logUrl: logUrl(publicUrl, d.project, d.number),
          },
          signal,
        );
        ref = null;
      }
      // A worker died mid-send: the deployment may exist already; look before making another.
      if (!ref && notification.inDoubt) ref = await api.find(repository, created, signal);
      if (!ref) {
        ref = await api.create(
          repository,
          {
            ...created,
            description: `Slipway ${d.kind} #${d.number} of ${d.ref}`,
            production: d.environmentTier === 'production',
            number: d.number,
            project: d.project,
          },
          signal,
        );
      }
      const state = STATES[event.type];
      if (state === 'success') {
        for (const id of await api.activeBefore(repository, d.environment, ref.id, signal)) {
          await api.addStatus(
            repository,
            id,
            {
              state: 'inactive',
              description: `Replaced by Slipway ${d.kind} #${d.number}`,
              environmentUrl: null,
              logUrl: logUrl(publicUrl, d.project, d.number),
            },
            signal,
          );
        }
      }
      await api.addStatus(
        repository,
        ref.id,
        {
          state,
          description: describe(event),
          environmentUrl: d.environmentUrl,
          logUrl: logUrl(publicUrl, d.project, d.number),
        },
        signal,
      );
      return { message: { messageId: `${ref.id}@${ref.sha}` } };
    },
  };
}

function isDeploymentEvent(event: Notification): event is DeploymentEvent {
  return event.type.startsWith('deployment.') || event.type.startsWith('approval.');
}

/** `<GitHub deployment id>@<sha>`, as remembered for the deployment in this channel. */
function parseRef(messageId: string | undefined): GitHubDeploymentRef | null {
  const match = /^(\d+)@([0-9a-f]{40,64})$/.exec(messageId ?? '');
  return match ? { id: Number(match[1]), sha: match[2]! } : null;
}

/** The deployment in Slipway's REST API. */
function logUrl(publicUrl: string, project: string, number: number): string {
  return `${publicUrl}/api/v1/projects/${encodeURIComponent(project)}/deployments/${number}`;
}

function describe(event: DeploymentEvent): string {
  const d = event.data.deployment;
  const by = event.data.actor ?? d.requestedBy;
  switch (event.type) {
    case 'deployment.queued':
      return `Queued by ${d.requestedBy}`;
    case 'approval.requested':
      return `Waiting for ${d.approval?.required ?? 1} approval(s) (${d.approval?.approverRole ?? 'approver'})`;
    case 'approval.approved':
      return `Approved by ${by}; queued`;
    case 'deployment.started':
      return `Deploying ${d.commit?.slice(0, 7) ?? d.ref} to ${d.environment}`;
    case 'deployment.finished':
      return `Live on ${d.environment}${d.releaseName ? ` (release ${d.releaseName})` : ''}`;
    case 'deployment.failed':
      return d.failureReason ?? 'Failed';
    case 'deployment.cancelled':
      return `Cancelled by ${d.cancelRequestedBy ?? by}`;
    case 'approval.rejected':
      return `Rejected by ${by}`;
    case 'approval.expired':
      return 'The approval request expired';
  }
}
