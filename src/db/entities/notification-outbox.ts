import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { NotificationChannel } from './notification-channel.js';
import { Project } from './project.js';

export const NOTIFICATION_DELIVERY_STATUSES = [
  'pending',
  'sending',
  'retrying',
  'delivered',
  'failed',
  /** A later notification about the same subject was delivered to the same message instead. */
  'superseded',
  /** The channel was switched off before it went out. */
  'skipped',
] as const;
export type NotificationDeliveryStatus = (typeof NOTIFICATION_DELIVERY_STATUSES)[number];

/** How a sent message is found again to edit it (Slack channel + ts, Discord message id, …). */
export interface PostedNotificationRef {
  messageId: string;
  channel?: string;
}

/**
 * The outbox: one row per event, written in the same transaction as the change that caused it.
 * `seq` orders the events of one subject (a deployment's notifications are applied in order).
 */
export const NotificationEvent = defineEntity({
  name: 'NotificationEvent',
  tableName: 'notification_events',
  indexes: [
    { properties: ['createdAt'] },
    // Fan-out picks up every event not yet fanned out, oldest first.
    { name: 'notification_events_unannounced', properties: ['seq'], where: 'fanned_out_at is null' },
  ],
  properties: {
    id: uuidPrimaryKey(),
    seq: p.bigint('number').autoincrement().unique(),
    type: p.string().length(50),
    project: () => p.manyToOne(Project).nullable().deleteRule('cascade'),
    subject: p.string().length(100).nullable(),
    data: p.json<Record<string, unknown>>(),
    createdAt: createdAt(),
    fannedOutAt: p.datetime().nullable(),
  },
});
export type INotificationEvent = InferEntity<typeof NotificationEvent>;

/**
 * One event for one channel. The unique (event, channel) pair is the idempotency key: an event
 * reaches a channel through exactly one row, whatever retries, replicas or crashes happen.
 */
export const NotificationDelivery = defineEntity({
  name: 'NotificationDelivery',
  tableName: 'notification_deliveries',
  uniques: [{ name: 'notification_deliveries_once', properties: ['event', 'channel'] }],
  indexes: [
    // Workers drain what is due, oldest first, between their jobs.
    {
      name: 'notification_deliveries_due',
      properties: ['nextAttemptAt'],
      where: "status in ('pending', 'retrying')",
    },
    {
      // Ordering: a delivery waits for earlier ones of the same subject in the same channel.
      name: 'notification_deliveries_open_by_subject',
      properties: ['channel', 'subject', 'seq'],
      where: "status in ('pending', 'sending', 'retrying')",
    },
    { name: 'notification_deliveries_sending', properties: ['claimedBy'], where: "status = 'sending'" },
    {
      name: 'notification_deliveries_failed',
      properties: ['channel', 'createdAt'],
      where: "status = 'failed'",
    },
  ],
  properties: {
    id: uuidPrimaryKey(),
    event: () => p.manyToOne(NotificationEvent).deleteRule('cascade'),
    channel: () => p.manyToOne(NotificationChannel).deleteRule('cascade'),
    subject: p.string().length(100).nullable(),
    seq: p.bigint('number'),
    status: p.enum(NOTIFICATION_DELIVERY_STATUSES).default('pending'),
    attempts: p.integer().default(0),
    /** A worker died while sending it: the platform may have it already (see the senders). */
    inDoubt: p.boolean().default(false),
    nextAttemptAt: p.datetime().defaultRaw('now()'),
    /** The pacing slot reserved for it on its channel. */
    slotAt: p.datetime().nullable(),
    claimedBy: p.string().length(100).nullable(),
    claimedAt: p.datetime().nullable(),
    deliveredAt: p.datetime().nullable(),
    lastError: p.text().nullable(),
    lastStatus: p.integer().nullable(),
    message: p.json<PostedNotificationRef>().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type INotificationDelivery = InferEntity<typeof NotificationDelivery>;

/** The message that shows a subject (a deployment) in a channel, edited in place by later notifications. */
export const NotificationMessage = defineEntity({
  name: 'NotificationMessage',
  tableName: 'notification_messages',
  uniques: [{ name: 'notification_messages_one_per_subject', properties: ['channel', 'subject'] }],
  properties: {
    id: uuidPrimaryKey(),
    channel: () => p.manyToOne(NotificationChannel).deleteRule('cascade'),
    subject: p.string().length(100),
    ref: p.json<PostedNotificationRef>(),
    /** The event the message shows now; an older one never overwrites it. */
    lastSeq: p.bigint('number'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type INotificationMessage = InferEntity<typeof NotificationMessage>;
