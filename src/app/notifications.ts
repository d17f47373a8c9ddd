import cron, { type ScheduledTask } from 'node-cron';
import { createDiscordNotificationSender } from '../../adapters/discord/notification-sender.js';
import { createEmailNotificationSender } from '../../adapters/email/notification-sender.js';
import { createSlackNotificationSender } from '../../adapters/slack/notification-sender.js';
import { createTeamsNotificationSender } from '../../adapters/teams/notification-sender.js';
import { createWebhookNotificationSender } from '../../adapters/webhook/notification-sender.js';
import type { Config } from '../config.js';
import { HeartbeatService, HeartbeatSweep } from '../core/heartbeats/index.js';
import {
  type DeliveryPolicy,
  NotificationChannelService,
  NotificationDeliveryWorker,
  NotificationOutbox,
} from '../core/notifications/index.js';
import type { SecretBox } from '../core/secrets/index.js';
import type { Orm } from '../db/orm.js';
import { NotificationQueue } from '../jobs/notification-queue.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Logger } from '../logger.js';

/** How often deliveries of dead processes, lost jobs and old outbox rows are looked after. */
const RECOVERY_INTERVAL_MS = 15_000;

export interface Notifications {
  outbox: NotificationOutbox;
  queue: NotificationQueue;
  channels: NotificationChannelService;
  heartbeats: HeartbeatService;
  sweep: HeartbeatSweep;
  worker: NotificationDeliveryWorker;
  /** Starts the workers, the recovery timer and the heartbeat sweep; returns what stops them. */
  start(): Promise<() => Promise<void>>;
}

/**
 * Heartbeats and notifications wired together (main.ts calls this): the outbox the core writes
 * to, the platform senders from adapters/, the delivery worker, and the node-cron sweep.
 */
export async function createNotifications(options: {
  config: Config;
  logger: Logger;
  orm: Orm;
  secrets: SecretBox;
  boss: JobQueue;
  instanceId: string;
  policy?: Partial<DeliveryPolicy>;
}): Promise<Notifications> {
  const { config, orm, secrets } = options;
  const logger = options.logger.child({ component: 'notifications' });
  const queue = new NotificationQueue(options.boss);
  await queue.setup();
  const outbox = new NotificationOutbox(queue);
  const channels = new NotificationChannelService(orm, secrets, queue, {
    slackBot: !!config.SLACK_BOT_TOKEN,
    discordBot: !!config.DISCORD_BOT_TOKEN,
    email: !!config.SLIPWAY_SMTP_URL,
  });
  const heartbeats = new HeartbeatService(orm, outbox, { publicUrl: config.publicUrl });
  const sweep = new HeartbeatSweep(orm, outbox, logger);
  const worker = new NotificationDeliveryWorker({
    orm,
    queue,
    secrets,
    instanceId: options.instanceId,
    logger,
    policy: {
      maxAttempts: config.SLIPWAY_NOTIFY_MAX_ATTEMPTS,
      retryBaseMs: config.SLIPWAY_NOTIFY_RETRY_BASE_MS,
      timeoutMs: config.SLIPWAY_NOTIFY_TIMEOUT_MS,
      ...options.policy,
    },
  });
  worker.register(
    createSlackNotificationSender({ botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL }),
  );
  worker.register(
    createDiscordNotificationSender({ botToken: config.DISCORD_BOT_TOKEN, apiUrl: config.DISCORD_API_URL }),
  );
  worker.register(createTeamsNotificationSender());
  worker.register(createWebhookNotificationSender());
  const email = createEmailNotificationSender({
    smtpUrl: config.SLIPWAY_SMTP_URL,
    from: config.SLIPWAY_MAIL_FROM,
    timeoutMs: config.SLIPWAY_NOTIFY_TIMEOUT_MS,
  });
  worker.register(email);

  return {
    outbox,
    queue,
    channels,
    heartbeats,
    sweep,
    worker,
    async start() {
      await worker.recover();
      await queue.workFanOut((eventIds) => worker.fanOut(eventIds).then(() => undefined));
      await queue.workDeliveries(config.SLIPWAY_NOTIFY_CONCURRENCY, (id) => worker.deliver(id));
      const recovering = setInterval(() => {
        worker
          .recover()
          .catch((error: unknown) => logger.error({ err: error }, 'notification recovery failed'));
      }, RECOVERY_INTERVAL_MS);
      const seconds = config.SLIPWAY_HEARTBEAT_SWEEP_SECONDS;
      const task: ScheduledTask = cron.schedule(
        seconds === 60 ? '0 * * * * *' : `*/${seconds} * * * * *`,
        async () => {
          await sweep.run().catch((error: unknown) => logger.error({ err: error }, 'heartbeat sweep failed'));
        },
        { name: 'heartbeat-sweep', noOverlap: true },
      );
      return async () => {
        await task.destroy();
        clearInterval(recovering);
        worker.stop();
        email.close();
      };
    },
  };
}
