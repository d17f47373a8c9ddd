import { DeploymentMessage } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';

/** A chat message that shows a deployment, as its adapter can find it again. */
export interface ShownMessage {
  platform: string;
  channel: string;
  messageId: string;
  /** The adapter's own data for reaching it (a Teams conversation reference, …). */
  reference?: Record<string, string> | undefined;
}

/**
 * The chat messages that show each deployment — its card, its approval request — kept in the
 * database, so any replica, also after a restart, can edit them in place as the run goes.
 */
export class DeploymentMessages {
  constructor(private readonly orm: Orm) {}

  /** Remembers a message (once: the same message again changes nothing). */
  async remember(deploymentId: string, message: ShownMessage): Promise<void> {
    await this.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into deployment_messages (id, deployment_id, platform, channel, message_id, reference)
         values (gen_random_uuid(), ?, ?, ?, ?, ?)
         on conflict on constraint deployment_messages_one_per_message do nothing`,
        [
          deploymentId,
          message.platform,
          message.channel,
          message.messageId,
          message.reference ? JSON.stringify(message.reference) : null,
        ],
      );
  }

  async of(deploymentId: string): Promise<ShownMessage[]> {
    const rows = await this.orm.em
      .fork()
      .find(DeploymentMessage, { deployment: deploymentId }, { orderBy: { createdAt: 'asc' } });
    return rows.map((row) => ({
      platform: row.platform,
      channel: row.channel,
      messageId: row.messageId,
      ...(row.reference ? { reference: row.reference } : {}),
    }));
  }
}
