import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CONNECTION_STATUSES, SERVER_TRANSPORTS } from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { Project } from './project.js';

export const Server = defineEntity({
  name: 'Server',
  tableName: 'servers',
  uniques: [{ properties: ['project', 'name'] }],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    name: p.string().length(100),
    host: p.string().length(255),
    port: p.integer().default(22).check('port >= 1 and port <= 65535'),
    connectAs: p.string().length(64),
    deployPath: p.text(),
    transport: p.enum(SERVER_TRANSPORTS).default('ssh'),
    receivesCodeDeployments: p.boolean().default(true),
    /** Pinned on first successful connect (trust on first use); a different key is refused. */
    hostKeyFingerprint: p.string().length(100).nullable(),
    connectionStatus: p.enum(CONNECTION_STATUSES).default('unknown'),
    connectionCheckedAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type IServer = InferEntity<typeof Server>;
