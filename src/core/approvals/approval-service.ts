import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import { Approval, ApprovalRequest, Deployment, type IApprovalRequest } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import { type ChatPlatform, ROLES, type Role, roleAtLeast } from '../../vocabulary.js';
import { type AccessPolicy, type Actor, type ChatIdentityRef, recordAudit } from '../access/index.js';
import type { DeploymentService } from '../deployments/index.js';
import { emitDeploymentNotification, type NotificationEmitter } from '../notifications/index.js';

export type ApprovalDecision = 'approve' | 'reject';

export interface DecisionOutcome {
  deploymentId: string;
  /** The request's status after this decision. */
  status: IApprovalRequest['status'];
  /** True when this decision completed the count and the deployment was queued. */
  enqueued: boolean;
}

/**
 * Approvals of deployments to environments that require them. The database keeps one decision
 * per person per request (`approvals_one_per_member`); the request row is locked while a
 * decision is counted, so concurrent clicks cannot over- or under-count.
 */
export class ApprovalService {
  constructor(
    private readonly orm: Orm,
    private readonly access: AccessPolicy,
    private readonly deployments: DeploymentService,
    private readonly notifications?: NotificationEmitter,
  ) {}

  async decide(actor: Actor, deploymentId: string, decision: ApprovalDecision): Promise<DecisionOutcome> {
    if (!actor.memberId) throw new SlipwayError('forbidden', 'Only a known member can approve or reject.');
    const memberId = actor.memberId;
    const em = this.orm.em.fork();
    const outcome = await withConstraintErrors(
      () =>
        em.transactional(async (tx) => {
          const request = await tx.findOne(
            ApprovalRequest,
            { deployment: deploymentId },
            { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['deployment', 'deployment.project'] },
          );
          if (!request) throw new SlipwayError('not_found', 'That deployment has no approval request.');
          const deployment = request.deployment;
          const label = `Deployment #${deployment.number}`;
          const refuse = async (message: string, code: SlipwayError['code'] = 'conflict') => {
            recordAudit(tx, actor, {
              action: `approval.${decision}`,
              result: 'refused',
              projectId: deployment.project.id,
              targetType: 'deployment',
              targetId: deployment.id,
              details: { reason: message },
            });
            await tx.flush();
            // Returned, not thrown: the refusal (and an expiry it found) is committed.
            return { refused: new SlipwayError(code, message) };
          };
          if (request.status === 'pending' && request.expiresAt.getTime() <= Date.now()) {
            await this.expire(tx, request);
            return refuse(
              `${label}'s approval request expired at ${utc(request.expiresAt)}; nothing was changed. Ask for a new deploy.`,
            );
          }
          if (request.status !== 'pending') {
            return refuse(
              `${label}'s approval request is already ${request.status}; your click changed nothing.`,
            );
          }
          if (deployment.requestedBy?.id === memberId) {
            return refuse(
              'You asked for this deployment, so you cannot approve or reject it: another approver must.',
              'forbidden',
            );
          }
          const held = await this.access.roleOf(tx, memberId, deployment.project);
          if (!held || !roleAtLeast(held, request.approverRole)) {
            return refuse(
              `Only members with the ${request.approverRole} role on ${deployment.project.name} can approve or reject; you have ${held ? `the ${held} role` : 'no role'}.`,
              'forbidden',
            );
          }
          const already = await tx.findOne(Approval, { request, member: memberId });
          if (already) {
            return refuse(
              `You already ${already.decision === 'approve' ? 'approved' : 'rejected'} ${label}; your first decision stands.`,
              'duplicate_approval',
            );
          }
          tx.create(Approval, { request, member: memberId, memberName: actor.name, decision });
          await tx.flush();
          let enqueued = false;
          if (decision === 'reject') {
            request.status = 'rejected';
            request.closedAt = new Date();
            await tx.nativeUpdate(
              Deployment,
              { id: deployment.id, status: 'awaiting_approval' },
              { status: 'rejected', finishedAt: new Date() },
            );
          } else {
            const approvals = await tx.count(Approval, { request, decision: 'approve' });
            if (approvals >= request.requiredCount) {
              request.status = 'approved';
              request.closedAt = new Date();
              await tx.flush();
              await this.deployments.enqueueApproved(tx, deployment.id);
              enqueued = true;
            }
          }
          recordAudit(tx, actor, {
            action: `approval.${decision}`,
            result: 'ok',
            projectId: deployment.project.id,
            targetType: 'deployment',
            targetId: deployment.id,
            details: { status: request.status },
          });
          await tx.flush();
          if (decision === 'reject' || enqueued) {
            const type = decision === 'reject' ? 'approval.rejected' : 'approval.approved';
            await emitDeploymentNotification(this.notifications, tx, type, deployment.id, actor.name);
          }
          const done: DecisionOutcome = { deploymentId: deployment.id, status: request.status, enqueued };
          return { done };
        }),
      {
        deployments_one_active_per_environment:
          'The environment is busy with another deployment; your approval was not recorded. Try again when it ends.',
      },
    );
    if ('refused' in outcome) throw outcome.refused;
    return outcome.done;
  }

  /**
   * Who may still approve or reject the deployment, as their identities on one chat platform: the
   * members holding the request's approver role (on the project or globally), not its requester,
   * not anyone who already decided. Empty when nothing waits (decided, expired, no request). What
   * a platform that can show a button to some people only (Teams' refresh.userIds) shows it to;
   * `decide` still checks every rule on the click.
   */
  async approvers(deploymentId: string, platform: ChatPlatform): Promise<ChatIdentityRef[]> {
    const needed = await this.approverRole(deploymentId);
    const roles = ROLES.filter((role) => roleAtLeast(role, needed));
    const marks = roles.map(() => '?').join(', ');
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ workspace: string; user_id: string; display_name: string }[]>(
        `select distinct ci.workspace, ci.user_id, m.display_name
           from approval_requests r
           join deployments d on d.id = r.deployment_id
           join members m on m.id is distinct from d.requested_by_id
           left join project_roles pr on pr.member_id = m.id and pr.project_id = d.project_id
           join chat_identities ci on ci.member_id = m.id and ci.platform = ?
          where r.deployment_id = ? and r.status = 'pending' and r.expires_at > now()
            and (pr.role in (${marks}) or m.global_role in (${marks}))
            and not exists (select 1 from approvals a where a.request_id = r.id and a.member_id = m.id)
          order by m.display_name
          limit 200`,
        [platform, deploymentId, ...roles, ...roles],
      );
    return rows.map((row) => ({
      platform,
      workspace: row.workspace,
      userId: row.user_id,
      displayName: row.display_name,
    }));
  }

  /** The role a deployment's approval request asks for (approver when it has none: no one qualifies then anyway). */
  private async approverRole(deploymentId: string): Promise<Role> {
    const request = await this.orm.em
      .fork()
      .findOne(ApprovalRequest, { deployment: deploymentId }, { fields: ['approverRole'] });
    return request?.approverRole ?? 'approver';
  }

  /** Closes every pending request past its time to live; returns their deployments' ids. */
  async expireDue(now = new Date()): Promise<string[]> {
    const em = this.orm.em.fork();
    return em.transactional(async (tx) => {
      const due = await tx.find(
        ApprovalRequest,
        { status: 'pending', expiresAt: { $lte: now } },
        { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE, populate: ['deployment', 'deployment.project'] },
      );
      for (const request of due) await this.expire(tx, request);
      await tx.flush();
      return due.map((request) => request.deployment.id);
    });
  }

  /** Remembers a chat message that shows this request, so it can be edited in place later. */
  private async expire(tx: EntityManager, request: IApprovalRequest): Promise<void> {
    request.status = 'expired';
    request.closedAt = new Date();
    await tx.nativeUpdate(
      Deployment,
      { id: request.deployment.id, status: 'awaiting_approval' },
      { status: 'expired', finishedAt: new Date() },
    );
    recordAudit(
      tx,
      { memberId: null, name: 'Slipway', source: 'system' },
      {
        action: 'approval.expire',
        result: 'ok',
        projectId: request.deployment.project.id,
        targetType: 'deployment',
        targetId: request.deployment.id,
      },
    );
    await tx.flush();
    await emitDeploymentNotification(this.notifications, tx, 'approval.expired', request.deployment.id);
  }
}

function utc(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}
