import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CHAT_PLATFORMS, ROLES } from '../../vocabulary.js';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Project } from './project.js';

/** A person. They reach Slipway through one or more chat identities (or API tokens). */
export const Member = defineEntity({
  name: 'Member',
  tableName: 'members',
  properties: {
    id: uuidPrimaryKey(),
    displayName: p.string().length(255),
    /** A role on every project (the first admins from SLIPWAY_ADMINS have `admin` here). */
    globalRole: p.enum(ROLES).nullable(),
    createdAt: createdAt(),
  },
});
export type IMember = InferEntity<typeof Member>;

export const ChatIdentity = defineEntity({
  name: 'ChatIdentity',
  tableName: 'chat_identities',
  uniques: [{ properties: ['platform', 'workspace', 'userId'] }],
  properties: {
    id: uuidPrimaryKey(),
    member: () => p.manyToOne(Member).deleteRule('cascade'),
    platform: p.enum(CHAT_PLATFORMS),
    /** Slack team id, Discord guild id, Teams tenant id, `local` for the web console. */
    workspace: p.string().length(255),
    userId: p.string().length(255),
    createdAt: createdAt(),
  },
});
export type IChatIdentity = InferEntity<typeof ChatIdentity>;

export const ProjectRole = defineEntity({
  name: 'ProjectRole',
  tableName: 'project_roles',
  uniques: [{ properties: ['member', 'project'] }],
  properties: {
    id: uuidPrimaryKey(),
    member: () => p.manyToOne(Member).deleteRule('cascade'),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    role: p.enum(ROLES),
    createdAt: createdAt(),
  },
});
export type IProjectRole = InferEntity<typeof ProjectRole>;
