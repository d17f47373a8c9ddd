import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type Slipway, startSlipway } from '../../src/app/start.js';
import { loadConfig } from '../../src/config.js';
import type { Actor } from '../../src/core/access/index.js';
import type { NotificationChannelInput } from '../../src/core/notifications/index.js';
import { createLogger } from '../../src/logger.js';
import type { TestDatabase } from './database.js';

export const SETUP_ACTOR: Actor = { memberId: null, name: 'setup', source: 'test' };

export interface DeliveryRow {
  id: string;
  status: string;
  attempts: number;
  in_doubt: boolean;
  last_error: string | null;
  type: string;
  channel: string;
}

/** A whole Slipway (main.ts) in this process, on a test database, for heartbeat and notice tests. */
export async function startNotificationSlipway(database: TestDatabase, env: Record<string, string> = {}) {
  const secretKey = randomBytes(32).toString('base64');
  const config = loadConfig({
    DATABASE_URL: database.url,
    SLIPWAY_SECRET_KEY: secretKey,
    PORT: '0',
    SLIPWAY_NOTIFY_RETRY_BASE_MS: '200',
    // The platforms' and receivers' stand-ins listen on loopback (the default refuses it).
    SLIPWAY_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    ...env,
  });
  const logger = createLogger({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent',
    LOG_FORMAT: 'json',
  });
  const slipway: Slipway = await startSlipway(config, logger);
  const address = slipway.http.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const em = () => slipway.database.orm.em.fork() as EntityManager;

  const deliveries = (where = 'true', params: unknown[] = []) =>
    database.query<DeliveryRow>(
      `select d.id, d.status, d.attempts, d.in_doubt, d.last_error, e.type, c.name as channel
         from notification_deliveries d
         join notification_events e on e.id = d.event_id
         join notification_channels c on c.id = d.channel_id
        where ${where} order by e.seq, c.name`,
      params,
    );

  return {
    slipway,
    secretKey,
    url: `http://127.0.0.1:${port}`,
    em,
    heartbeats: slipway.services.heartbeats,
    channels: slipway.services.channels,
    sweep: slipway.services.heartbeatSweep,
    /** A project (no servers needed for heartbeats and locks). */
    async project(name: string) {
      const manager = em();
      return slipway.services.setup.createProject(manager, SETUP_ACTOR, {
        name,
        repository: 'https://example.invalid/app.git',
      });
    },
    channel(project: string | null, input: NotificationChannelInput) {
      return slipway.services.channels.create(SETUP_ACTOR, project, input);
    },
    deliveries,
    /** Waits until the deliveries matching `where` all have one of `statuses` (and there are `count`). */
    async settle(
      where: string,
      params: unknown[],
      count: number,
      statuses: readonly string[] = ['delivered'],
      timeoutMs = 30_000,
    ): Promise<DeliveryRow[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await deliveries(where, params);
        if (rows.length >= count && rows.every((row) => statuses.includes(row.status))) return rows;
        if (Date.now() > deadline) throw new Error(`deliveries did not settle: ${JSON.stringify(rows)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    /** Makes a heartbeat overdue without waiting for it. */
    async overdue(heartbeatId: string) {
      await database.query(`update heartbeats set next_due_at = now() - interval '1 second' where id = $1`, [
        heartbeatId,
      ]);
    },
    ping: (token: string, suffix = '', init?: RequestInit) =>
      fetch(`http://127.0.0.1:${port}/heartbeats/${token}${suffix}`, init),
    stop: () => slipway.stop(),
  };
}

export type NotificationStack = Awaited<ReturnType<typeof startNotificationSlipway>>;
