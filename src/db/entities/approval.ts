import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { APPROVAL_DECISIONS, APPROVAL_REQUEST_STATUSES, ROLES } from '../../vocabulary.js';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Deployment } from './deployment.js';
import { Member } from './member.js';

export const ApprovalRequest = defineEntity({
  name: 'ApprovalRequest',
  tableName: 'approval_requests',
  indexes: [{ properties: ['status', 'expiresAt'] }],
  uniques: [{ name: 'approval_requests_one_per_deployment', properties: ['deployment'] }],
  properties: {
    id: uuidPrimaryKey(),
    deployment: () => p.manyToOne(Deployment).deleteRule('cascade'),
    requiredCount: p.integer().check('required_count >= 1 and required_count <= 10'),
    approverRole: p.enum(ROLES).default('approver'),
    status: p.enum(APPROVAL_REQUEST_STATUSES).default('pending'),
    expiresAt: p.datetime(),
    createdAt: createdAt(),
    closedAt: p.datetime().nullable(),
  },
});
export type IApprovalRequest = InferEntity<typeof ApprovalRequest>;

export const Approval = defineEntity({
  name: 'Approval',
  tableName: 'approvals',
  // One decision per person per request: a second click changes nothing.
  uniques: [{ name: 'approvals_one_per_member', properties: ['request', 'member'] }],
  properties: {
    id: uuidPrimaryKey(),
    request: () => p.manyToOne(ApprovalRequest).deleteRule('cascade'),
    member: () => p.manyToOne(Member).deleteRule('cascade'),
    memberName: p.string().length(255),
    decision: p.enum(APPROVAL_DECISIONS),
    comment: p.text().nullable(),
    createdAt: createdAt(),
  },
});
export type IApproval = InferEntity<typeof Approval>;
