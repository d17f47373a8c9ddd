import type { EntityManager } from '@mikro-orm/postgresql';
import { fromKysely } from 'pg-boss';
import type { JobQueue } from './queue.js';

export const PIPELINE_QUEUE = 'pipeline-advance';

interface PipelineJob {
  executionId: string;
}

/**
 * "Look at this pipeline run again", durable in PostgreSQL. A job only names a run; the run's
 * rows say what comes next (advancing is idempotent and takes the run's row lock), so a job
 * delivered twice, retried, or sent by the sweep after a crash never does a step twice.
 */
export class PipelineQueue {
  constructor(private readonly boss: JobQueue) {}

  async setup(): Promise<void> {
    await this.boss.createQueue(PIPELINE_QUEUE, {
      notify: true,
      retryLimit: 5,
      retryDelay: 2,
      retryBackoff: true,
      // A smoke command may run as long as a deployment step.
      expireInSeconds: 3 * 3600,
    });
  }

  /** With `em` inside a transaction, the job exists only if that transaction commits. */
  async enqueue(executionId: string, em?: EntityManager): Promise<void> {
    const data: PipelineJob = { executionId };
    await this.boss.send(PIPELINE_QUEUE, data, em ? { db: fromKysely(em.getKysely()) } : {});
  }

  async work(concurrency: number, handler: (executionId: string) => Promise<void>): Promise<void> {
    await this.boss.work<PipelineJob>(
      PIPELINE_QUEUE,
      { localConcurrency: concurrency, batchSize: 1, pollingIntervalSeconds: 1 },
      async ([job]) => {
        if (job) await handler(job.data.executionId);
      },
    );
  }
}
