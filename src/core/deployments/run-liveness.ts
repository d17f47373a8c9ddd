import pg from 'pg';
import type { Logger } from '../../logger.js';

/** Advisory-lock namespace of "a process is running this deployment". */
const NAMESPACE = 0x51_1b_07;

/**
 * How one replica knows another has died mid-deployment, without waiting out a timeout: the
 * process running a deployment holds a session advisory lock on it over a connection of its
 * own. If the process dies, PostgreSQL ends the session and the lock is free; the reaper takes
 * the free lock (in the same statement that marks the deployment) and knows the runner is gone.
 */
export class RunLiveness {
  private constructor(
    private readonly client: pg.Client,
    private readonly logger: Logger,
  ) {}

  static async open(url: string, logger: Logger): Promise<RunLiveness> {
    const client = new pg.Client({ connectionString: url, application_name: 'slipway-liveness' });
    const liveness = new RunLiveness(client, logger);
    client.on('error', (error) =>
      logger.error({ err: error }, 'liveness connection lost; running deployments may be reaped'),
    );
    await client.connect();
    return liveness;
  }

  async hold(deploymentId: string): Promise<void> {
    await this.client.query('select pg_advisory_lock($1, hashtext($2))', [NAMESPACE, deploymentId]);
  }

  async release(deploymentId: string): Promise<void> {
    try {
      await this.client.query('select pg_advisory_unlock($1, hashtext($2))', [NAMESPACE, deploymentId]);
    } catch (error) {
      this.logger.warn({ err: error, deploymentId }, 'could not release a deployment liveness lock');
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** SQL predicate, true for a row whose runner is gone; only valid inside a transaction (xact lock). */
export const RUNNER_IS_GONE_SQL = `pg_try_advisory_xact_lock(${NAMESPACE}, hashtext(id::text))`;
