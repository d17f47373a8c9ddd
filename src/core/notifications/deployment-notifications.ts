import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeploymentChanges } from '../../db/entities/index.js';
import type { DeploymentKind, DeploymentStatus, EnvironmentTier } from '../../vocabulary.js';
import { type DeploymentSnapshot, deploymentSubject, type NewNotification } from './notification-events.js';
import type { NotificationEmitter } from './notification-outbox.js';

export type DeploymentNotificationType = Extract<
  NewNotification['type'],
  `deployment.${string}` | `approval.${string}`
>;

interface SnapshotRow {
  id: string;
  number: number;
  project_id: string;
  project: string;
  environment: string;
  environment_tier: EnvironmentTier;
  environment_url: string | null;
  kind: DeploymentKind;
  status: DeploymentStatus;
  ref: string;
  commit_hash: string | null;
  commit_message: string | null;
  commit_author: string | null;
  changes: DeploymentChanges | null;
  promoted_from: string | null;
  requested_by_name: string;
  release_name: string | null;
  previous_release: string | null;
  forced: boolean;
  force_reason: string | null;
  failure_reason: string | null;
  cancel_requested_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  failed_server: string | null;
  failed_step: string | null;
  failed_output: string | null;
  approval_status: string | null;
  required_count: number | null;
  approver_role: string | null;
  expires_at: Date | null;
  approved_by: string[] | null;
  rejected_by: string[] | null;
}

/** One round trip, on the caller's transaction, so the snapshot shows the change being made. */
const SNAPSHOT_SQL = `
select d.id, d.number, d.project_id, p.name as project, e.name as environment,
       e.tier as environment_tier, e.external_url as environment_url, d.kind, d.status, d.ref,
       d.commit_hash, d.commit_message, d.commit_author, d.changes, pf.name as promoted_from, d.requested_by_name,
       d.release_name, d.previous_release, d.forced, d.force_reason, d.failure_reason, d.cancel_requested_by, d.created_at, d.started_at, d.finished_at,
       fs.server_name as failed_server, fs.name as failed_step, fs.output_tail as failed_output,
       ar.status as approval_status, ar.required_count, ar.approver_role, ar.expires_at,
       (select coalesce(json_agg(a.member_name order by a.created_at), '[]') from approvals a
         where a.request_id = ar.id and a.decision = 'approve') as approved_by,
       (select coalesce(json_agg(a.member_name order by a.created_at), '[]') from approvals a
         where a.request_id = ar.id and a.decision = 'reject') as rejected_by
  from deployments d
  join projects p on p.id = d.project_id
  join environments e on e.id = d.environment_id
  left join environments pf on pf.id = d.promoted_from_id
  left join lateral (select s.server_name, s.name, s.output_tail from deployment_steps s
                      where s.deployment_id = d.id and s.status = 'failed'
                      order by s.finished_at nulls last, s.position limit 1) fs on true
  left join approval_requests ar on ar.deployment_id = d.id
 where d.id = ?`;

/**
 * Writes a deployment or approval notification to the outbox inside `tx`, with a snapshot of the
 * deployment as this transaction sees it. Call it after the change is flushed.
 */
export async function emitDeploymentNotification(
  notifications: NotificationEmitter | undefined,
  tx: EntityManager,
  type: DeploymentNotificationType,
  deploymentId: string,
  actor: string | null = null,
): Promise<void> {
  if (!notifications) return;
  const [row] = await tx
    .getConnection()
    .execute<SnapshotRow[]>(SNAPSHOT_SQL, [deploymentId], 'all', tx.getTransactionContext());
  if (!row) return;
  await notifications.emit(tx, {
    type,
    projectId: row.project_id,
    project: row.project,
    subject: deploymentSubject(row.id),
    data: { deployment: snapshot(row), actor },
  });
}

function snapshot(row: SnapshotRow): DeploymentSnapshot {
  const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);
  const started = row.started_at ? new Date(row.started_at).getTime() : null;
  const finished = row.finished_at ? new Date(row.finished_at).getTime() : null;
  return {
    id: row.id,
    number: row.number,
    project: row.project,
    environment: row.environment,
    environmentTier: row.environment_tier,
    environmentUrl: row.environment_url,
    kind: row.kind,
    status: row.status,
    ref: row.ref,
    commit: row.commit_hash,
    commitMessage: row.commit_message ? row.commit_message.split('\n')[0]!.slice(0, 200) : null,
    commitAuthor: row.commit_author,
    changes: row.changes,
    promotedFrom: row.promoted_from,
    requestedBy: row.requested_by_name,
    releaseName: row.release_name,
    previousRelease: row.previous_release,
    forced: row.forced,
    forceReason: row.force_reason,
    failureReason: row.failure_reason,
    cancelRequestedBy: row.cancel_requested_by,
    createdAt: new Date(row.created_at).toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: started !== null && finished !== null ? finished - started : null,
    failedStep:
      row.failed_step && row.failed_server
        ? { server: row.failed_server, name: row.failed_step, outputTail: row.failed_output }
        : null,
    approval:
      row.approval_status && row.expires_at
        ? {
            status: row.approval_status,
            required: row.required_count ?? 1,
            approverRole: row.approver_role ?? 'approver',
            approvedBy: row.approved_by ?? [],
            rejectedBy: row.rejected_by ?? [],
            expiresAt: new Date(row.expires_at).toISOString(),
          }
        : null,
  };
}
