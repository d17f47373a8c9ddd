import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Deployment } from './deployment.js';

/** A chat message an adapter posted, by which it can find it again (stored as JSON too). */
export interface PostedMessage {
  platform: string;
  channel: string;
  messageId: string;
  reference?: Record<string, string> | undefined;
}

/**
 * A chat message that shows a deployment (its card, or an approval request), so that every
 * replica, also after a restart, can keep it up to date in place. `reference` is the adapter's
 * own data for reaching the message again (a Teams conversation reference, …).
 */
export const DeploymentMessage = defineEntity({
  name: 'DeploymentMessage',
  tableName: 'deployment_messages',
  uniques: [
    {
      name: 'deployment_messages_one_per_message',
      properties: ['deployment', 'platform', 'channel', 'messageId'],
    },
  ],
  properties: {
    id: uuidPrimaryKey(),
    deployment: () => p.manyToOne(Deployment).deleteRule('cascade'),
    platform: p.string().length(20),
    channel: p.string().length(255),
    messageId: p.string().length(255),
    reference: p.json<Record<string, string>>().nullable(),
    createdAt: createdAt(),
  },
});
export type IDeploymentMessage = InferEntity<typeof DeploymentMessage>;
