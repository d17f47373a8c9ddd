import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { NotificationQueue } from '../../jobs/notification-queue.js';
import type { NewNotification } from './notification-events.js';

/** Where the core writes what channels should hear about. */
export interface NotificationEmitter {
  /**
   * Writes the notifications to the outbox inside `tx`: they exist, and will be delivered, only if the
   * transaction that made the change commits. Call it inside `em.transactional`.
   */
  emit(tx: EntityManager, notifications: NewNotification | readonly NewNotification[]): Promise<void>;
  /** For callers that inserted `notification_events` rows themselves (the sweep, in bulk). */
  announce(tx: EntityManager, eventIds: readonly string[]): Promise<void>;
}

/**
 * The transactional outbox: an event row plus a fan-out job, both in the caller's transaction.
 * Nothing else happens on the caller's path (no channel lookups, no rendering, no HTTP).
 */
export class NotificationOutbox implements NotificationEmitter {
  constructor(private readonly queue: NotificationQueue) {}

  async emit(tx: EntityManager, notifications: NewNotification | readonly NewNotification[]): Promise<void> {
    const list = Array.isArray(notifications)
      ? (notifications as readonly NewNotification[])
      : [notifications as NewNotification];
    if (!list.length) return;
    const rows = list.map((notification) => ({
      id: randomUUID(),
      type: notification.type,
      project_id: notification.projectId,
      subject: notification.subject,
      data: notification.data,
    }));
    await tx.getConnection().execute(
      `insert into notification_events (id, type, project_id, subject, data, created_at)
         select r.id, r.type, r.project_id, r.subject, r.data, now()
           from jsonb_to_recordset(?::jsonb) as r(id uuid, type text, project_id uuid, subject text, data jsonb)`,
      [JSON.stringify(rows)],
      'run',
      tx.getTransactionContext(),
    );
    await this.announce(
      tx,
      rows.map((row) => row.id),
    );
  }

  async announce(tx: EntityManager, eventIds: readonly string[]): Promise<void> {
    await this.queue.fanOut(eventIds, tx);
  }
}

/** For services built without notifications (some tests): emits nothing. */
export const SILENT_NOTIFICATIONS: NotificationEmitter = {
  emit: async () => undefined,
  announce: async () => undefined,
};
