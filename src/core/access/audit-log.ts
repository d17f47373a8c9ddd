import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEvent } from '../../db/entities/index.js';
import type { AuditResult } from '../../vocabulary.js';
import type { Actor } from './actor.js';

export interface AuditEntry {
  action: string;
  result: AuditResult;
  projectId?: string | null;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
}

/** Append-only: written in the caller's unit of work, never updated. Never put secrets in details. */
export function recordAudit(em: EntityManager, actor: Actor, entry: AuditEntry): void {
  em.create(AuditEvent, {
    actorId: actor.memberId,
    actorName: actor.name,
    source: actor.source,
    action: entry.action,
    projectId: entry.projectId ?? null,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    result: entry.result,
    details: entry.details ?? {},
  });
}
