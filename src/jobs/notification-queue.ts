import type { EntityManager } from '@mikro-orm/postgresql';
import { fromKysely } from 'pg-boss';
import type { JobQueue } from './queue.js';

export const NOTIFICATION_FANOUT_QUEUE = 'notification-fanout';
export const NOTIFICATION_DELIVERY_QUEUE = 'notification-deliver';

interface FanOutJob {
  eventIds: string[];
}

interface DeliveryJob {
  deliveryId: string;
}

/**
 * Two durable queues: `notification-fanout` turns an outbox event into one delivery per
 * subscribed channel; `notification-deliver` sends one delivery. Jobs only name rows; the rows
 * say what still needs doing, so a job run twice does nothing the second time. Retries with
 * back-off and Retry-After are scheduled by the delivery worker itself (a fresh job with
 * `startAfter`); the queue's own retries only cover a handler that crashed.
 */
export class NotificationQueue {
  constructor(private readonly boss: JobQueue) {}

  async setup(): Promise<void> {
    const options = { notify: true, retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: 300 };
    await this.boss.createQueue(NOTIFICATION_FANOUT_QUEUE, options);
    await this.boss.createQueue(NOTIFICATION_DELIVERY_QUEUE, options);
  }

  /** With `em` inside a transaction, the job exists only if that transaction commits. */
  async fanOut(eventIds: readonly string[], em?: EntityManager): Promise<void> {
    if (!eventIds.length) return;
    const data: FanOutJob = { eventIds: [...eventIds] };
    await this.boss.send(NOTIFICATION_FANOUT_QUEUE, data, em ? { db: fromKysely(em.getKysely()) } : {});
  }

  async deliver(
    deliveries: readonly { id: string; startAfter?: Date | null }[],
    em?: EntityManager,
  ): Promise<void> {
    if (!deliveries.length) return;
    const jobs = deliveries.map((delivery) => ({
      data: { deliveryId: delivery.id } satisfies DeliveryJob,
      ...(delivery.startAfter && delivery.startAfter.getTime() > Date.now()
        ? { startAfter: delivery.startAfter }
        : {}),
    }));
    await this.boss.insert(NOTIFICATION_DELIVERY_QUEUE, jobs, em ? { db: fromKysely(em.getKysely()) } : {});
  }

  async workFanOut(handler: (eventIds: string[]) => Promise<void>): Promise<void> {
    await this.boss.work<FanOutJob>(
      NOTIFICATION_FANOUT_QUEUE,
      { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
      async ([job]) => {
        if (job) await handler(job.data.eventIds);
      },
    );
  }

  async workDeliveries(concurrency: number, handler: (deliveryId: string) => Promise<void>): Promise<void> {
    await this.boss.work<DeliveryJob>(
      NOTIFICATION_DELIVERY_QUEUE,
      {
        localConcurrency: concurrency,
        batchSize: 1,
        // Polled twice a second even with NOTIFY on: a retry scheduled for Retry-After (a job with
        // startAfter, which wakes no one) goes out within half a second of its time.
        pollingIntervalSeconds: 0.5,
        notifyPollingIntervalSeconds: 0.5,
        // With a backlog (1,000 alerts at once) workers fetch again at once instead of every 0.5 s.
        burstWhenReadyExceeds: 1,
      },
      async ([job]) => {
        if (job) await handler(job.data.deliveryId);
      },
    );
  }

  async stopWorkers(): Promise<void> {
    await this.boss.offWork(NOTIFICATION_FANOUT_QUEUE);
    await this.boss.offWork(NOTIFICATION_DELIVERY_QUEUE);
  }
}
