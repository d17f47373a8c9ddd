import pg from 'pg';
import type { Logger } from '../../logger.js';

/** Advisory-lock namespace of "this process is alive and may be sending notifications". */
const NAMESPACE = 0x51_1b_0e;

/**
 * How a replica knows another died while sending a notification: each process holds a session
 * advisory lock on its instance id over a connection of its own, and marks the deliveries it
 * claims with that id. When the process dies, PostgreSQL ends the session and frees the lock;
 * `CLAIMER_IS_GONE_SQL` then succeeds for its deliveries, which go back to the queue, in doubt.
 */
export class NotificationLiveness {
  private constructor(private readonly client: pg.Client) {}

  static async hold(url: string, instanceId: string, logger: Logger): Promise<NotificationLiveness> {
    const client = new pg.Client({
      connectionString: url,
      application_name: 'slipway-notifications-liveness',
    });
    client.on('error', (error) =>
      logger.error(
        { err: error },
        'notification liveness connection lost; deliveries in flight may be sent again',
      ),
    );
    await client.connect();
    await client.query('select pg_advisory_lock($1, hashtext($2))', [NAMESPACE, instanceId]);
    return new NotificationLiveness(client);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** SQL predicate over a delivery row: its claimer's process is gone. Only valid inside a transaction. */
export const CLAIMER_IS_GONE_SQL = `pg_try_advisory_xact_lock(${NAMESPACE}, hashtext(claimed_by))`;
