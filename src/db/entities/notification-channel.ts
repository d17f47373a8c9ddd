import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { NOTIFICATION_PLATFORMS } from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { Project } from './project.js';

export const NotificationChannel = defineEntity({
  name: 'NotificationChannel',
  tableName: 'notification_channels',
  uniques: [{ properties: ['project', 'name'] }],
  properties: {
    id: uuidPrimaryKey(),
    /** Null: a channel for every project. */
    project: () => p.manyToOne(Project).nullable().deleteRule('cascade'),
    name: p.string().length(255),
    platform: p.enum(NOTIFICATION_PLATFORMS),
    /** Channel id, webhook URL or e-mail address, by platform. Webhook URLs are secrets: sealed. */
    target: p.text().hidden(),
    /** What people may see of the target: a channel id, an address, or a masked URL. */
    targetHint: p.string().length(255).default(''),
    /** Signing secret of a `webhook` channel (sealed). */
    secret: p.text().nullable().hidden(),
    events: p.json<string[]>().default('[]'),
    active: p.boolean().default(true),
    consecutiveFailures: p.integer().default(0),
    failingSince: p.datetime().nullable(),
    lastError: p.text().nullable(),
    lastErrorAt: p.datetime().nullable(),
    lastDeliveredAt: p.datetime().nullable(),
    /** Pacing across replicas: the earliest time the next message may go to this channel. */
    nextSendAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type INotificationChannel = InferEntity<typeof NotificationChannel>;
