import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { COMMIT_BEHAVIOURS, ENVIRONMENT_STATES, ENVIRONMENT_TIERS, ROLES } from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { Deployment } from './deployment.js';
import { Project } from './project.js';
import { Server } from './server.js';

export const Environment = defineEntity({
  name: 'Environment',
  tableName: 'environments',
  uniques: [{ properties: ['project', 'name'] }, { properties: ['project', 'slug'] }],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    name: p.string().length(255),
    slug: p.string().length(64),
    tier: p.enum(ENVIRONMENT_TIERS).default('other'),
    branch: p.string().length(255),
    externalUrl: p.text().nullable(),
    /** Checked after activation; the project's URL when null. */
    healthCheckUrl: p.text().nullable(),
    description: p.text().nullable(),
    state: p.enum(ENVIRONMENT_STATES).default('available'),
    /** GitLab's auto_stop_setting: stop at `autoStopAt` always, or only while there is no action. */
    autoStopSetting: p.enum(['always', 'with_action'] as const).default('always'),
    autoStopAt: p.datetime().nullable(),
    commitBehaviour: p.enum(COMMIT_BEHAVIOURS).default('do_nothing'),
    approvalsRequired: p.integer().default(0).check('approvals_required >= 0 and approvals_required <= 10'),
    approverRole: p.enum(ROLES).default('approver'),
    approvalTtlMinutes: p
      .integer()
      .default(30)
      .check('approval_ttl_minutes >= 1 and approval_ttl_minutes <= 10080'),
    /** Review apps: the environment this one was cloned from, and whether to destroy it when stopped. */
    clonedFrom: () => p.manyToOne(Environment).nullable().deleteRule('set null'),
    autoDestroy: p.boolean().default(false),
    servers: () => p.manyToMany(Server).pivotTable('environment_servers'),
    /**
     * What is live: the release `current` points at on the environment's servers and its commit,
     * written when an activation or a rollback completes (in the transaction that ends the
     * deployment). Promote, manual build, status and the pipeline view read these, never history.
     */
    liveRelease: p.string().length(100).nullable(),
    liveCommit: p.string().length(64).nullable(),
    /** The deployment that built the live release (its commit's message and author are there). */
    liveDeployment: () => p.manyToOne(Deployment).nullable().deleteRule('set null'),
    liveSince: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type IEnvironment = InferEntity<typeof Environment>;
