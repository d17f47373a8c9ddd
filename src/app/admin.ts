import { userInfo } from 'node:os';
import { notificationSenders } from '../../adapters/index.js';
import type { Config } from '../config.js';
import type { Actor } from '../core/access/index.js';
import { loadSecretBox } from '../core/secrets/index.js';
import { openDatabaseBesideService } from '../db/attach-embedded.js';
import { createLogger } from '../logger.js';
import { createOutboundGuard } from '../net/outbound-guard.js';
import { buildAdminServices } from './services.js';

/**
 * The services the `slipway apply` and `slipway token` commands use, built by the same
 * builder as the running service, on the service's database (the running service's embedded
 * PostgreSQL, if that is where the data is). These commands hold the database's own authority,
 * as `slipway migrate` does: no role checks, and every change is audited as `cli (<OS user>)`.
 */
export async function openAdminServices(config: Config) {
  // The commands print plans and tokens on stdout: keep routine log lines off it.
  const logger = createLogger({
    ...config,
    LOG_LEVEL: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
  });
  const secrets = await loadSecretBox(config, logger);
  const database = await openDatabaseBesideService(config, logger);
  const outbound = createOutboundGuard({ allow: config.SLIPWAY_ALLOW_PRIVATE_TARGETS });
  const senders = notificationSenders(config, outbound.fetch);
  const services = buildAdminServices({ config, logger, orm: database.orm, secrets, senders, outbound });
  const actor: Actor = { memberId: null, name: `cli (${safeUserName()})`, source: 'cli' };
  return {
    ...services,
    actor,
    close: async () => {
      for (const sender of senders) sender.close?.();
      await outbound.close();
      await database.close();
    },
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
