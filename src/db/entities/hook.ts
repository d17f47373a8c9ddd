import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { HOOK_ACTIONS, HOOK_TIMINGS } from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { Project } from './project.js';
import { Server } from './server.js';

export const Hook = defineEntity({
  name: 'Hook',
  tableName: 'hooks',
  indexes: [{ properties: ['project', 'action', 'timing', 'sequence'] }],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    name: p.string().length(255),
    script: p.text(),
    /** Run as this user through `sudo -n -u`; null runs as the connecting user. */
    runAs: p.string().length(64).nullable(),
    action: p.enum(HOOK_ACTIONS),
    timing: p.enum(HOOK_TIMINGS),
    sequence: p.integer().default(0),
    /** The servers it runs on; none listed means every server. */
    servers: () => p.manyToMany(Server).pivotTable('hook_servers'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type IHook = InferEntity<typeof Hook>;
