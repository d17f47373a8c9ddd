import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Environment } from './environment.js';
import { Member } from './member.js';

export const Lock = defineEntity({
  name: 'Lock',
  tableName: 'locks',
  // One lock per environment.
  uniques: [{ name: 'locks_one_per_environment', properties: ['environment'] }],
  properties: {
    id: uuidPrimaryKey(),
    environment: () => p.manyToOne(Environment).deleteRule('cascade'),
    holder: () => p.manyToOne(Member).nullable().deleteRule('set null'),
    holderName: p.string().length(255),
    reason: p.text().nullable(),
    createdAt: createdAt(),
    expiresAt: p.datetime().nullable(),
  },
});
export type ILock = InferEntity<typeof Lock>;
