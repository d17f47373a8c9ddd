import type { EntityManager } from '@mikro-orm/postgresql';
import { fromKysely } from 'pg-boss';
import type { JobQueue } from './queue.js';

export const DEPLOYMENT_QUEUE = 'deployment-run';

interface DeploymentJob {
  deploymentId: string;
}

/**
 * Deployments to run, durable in PostgreSQL. A job only names a deployment; the deployment row
 * says whether it still needs running (claiming it is idempotent), so a job delivered twice,
 * retried after a crash, or handed back at shutdown never runs a deployment twice.
 */
export class DeploymentQueue {
  constructor(private readonly boss: JobQueue) {}

  async setup(): Promise<void> {
    await this.boss.createQueue(DEPLOYMENT_QUEUE, {
      notify: true,
      retryLimit: 5,
      retryDelay: 5,
      retryBackoff: true,
      // Deployments may run long; a job outliving this is retried, and the retry finds the row claimed.
      expireInSeconds: 6 * 3600,
    });
  }

  /** With `em` inside a transaction, the job exists only if that transaction commits. */
  async enqueue(deploymentId: string, em?: EntityManager): Promise<void> {
    const data: DeploymentJob = { deploymentId };
    await this.boss.send(DEPLOYMENT_QUEUE, data, em ? { db: fromKysely(em.getKysely()) } : {});
  }

  async work(concurrency: number, handler: (deploymentId: string) => Promise<void>): Promise<void> {
    await this.boss.work<DeploymentJob>(
      DEPLOYMENT_QUEUE,
      { localConcurrency: concurrency, batchSize: 1, pollingIntervalSeconds: 2 },
      async ([job]) => {
        if (job) await handler(job.data.deploymentId);
      },
    );
  }
}
