import { PgBoss } from 'pg-boss';
import type { Logger } from '../logger.js';

export type JobQueue = PgBoss;

/**
 * The durable job queue lives in the same PostgreSQL, in its own schema, so a job can be
 * sent in the same transaction as the change that caused it and any replica can run it.
 */
export async function startJobQueue(url: string, logger: Logger): Promise<JobQueue> {
  const boss = new PgBoss({
    connectionString: url,
    schema: 'pgboss',
    application_name: 'slipway-jobs',
    max: 5,
    useListenNotify: true,
  });
  const log = logger.child({ component: 'jobs' });
  boss.on('error', (error: Error) => log.error({ err: error }, 'job queue error'));
  boss.on('warning', (warning: unknown) => log.warn({ warning }, 'job queue warning'));
  await boss.start();
  return boss;
}

/** Stops fetching, waits up to `timeoutMs` for running handlers, hands the rest back to the queue. */
export async function stopJobQueue(boss: JobQueue, timeoutMs: number): Promise<void> {
  await boss.stop({ graceful: true, timeout: timeoutMs, close: true });
}
