import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { AUDIT_RESULTS } from '../../vocabulary.js';

/** Who did what, from where, when, with what result. Written once, never updated. */
export const AuditEvent = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  indexes: [{ properties: ['projectId', 'at'] }, { properties: ['at'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    at: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
    // Plain ids, no foreign keys: the log outlives what it talks about.
    actorId: p.uuid().nullable(),
    actorName: p.string().length(255),
    source: p.string().length(32),
    action: p.string().length(100),
    projectId: p.uuid().nullable(),
    targetType: p.string().length(50).nullable(),
    targetId: p.string().length(100).nullable(),
    result: p.enum(AUDIT_RESULTS),
    details: p.json<Record<string, unknown>>().default('{}'),
  },
});
export type IAuditEvent = InferEntity<typeof AuditEvent>;
