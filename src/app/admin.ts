import { userInfo } from 'node:os';
import type { Config } from '../config.js';
import { AccessPolicy, type Actor, ApiTokenService } from '../core/access/index.js';
import { ConfigPlanner } from '../core/config-apply/index.js';
import { NotificationChannelService } from '../core/notifications/index.js';
import {
  EnvironmentService,
  HookService,
  ProjectService,
  ProjectSetup,
  ServerService,
} from '../core/projects/index.js';
import { loadSecretBox } from '../core/secrets/index.js';
import { openDatabaseBesideService } from '../db/attach-embedded.js';
import { createLogger } from '../logger.js';

/**
 * The core services the `slipway apply` and `slipway token` commands use, on the service's
 * database (the running service's embedded PostgreSQL, if that is where the data is). These
 * commands hold the database's own authority, as `slipway migrate` does: no role checks, and
 * every change is audited as `cli (<OS user>)`.
 */
export async function openAdminServices(config: Config) {
  // The commands print plans and tokens on stdout: keep routine log lines off it.
  const logger = createLogger({
    ...config,
    LOG_LEVEL: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
  });
  const secrets = await loadSecretBox(config, logger);
  const database = await openDatabaseBesideService(config, logger);
  const { orm } = database;
  const access = new AccessPolicy(orm, config.admins);
  const setup = new ProjectSetup(secrets);
  const channels = new NotificationChannelService(orm, secrets, null, {
    slackBot: !!config.SLACK_BOT_TOKEN,
    discordBot: !!config.DISCORD_BOT_TOKEN,
    email: !!config.SLIPWAY_SMTP_URL,
  });
  const planner = new ConfigPlanner({
    projects: new ProjectService(orm, setup, access),
    servers: new ServerService(orm, setup),
    environments: new EnvironmentService(orm, setup),
    hooks: new HookService(orm, setup),
    access,
    channels,
  });
  const actor: Actor = { memberId: null, name: `cli (${safeUserName()})`, source: 'cli' };
  return {
    planner,
    tokens: new ApiTokenService(orm, access),
    actor,
    close: () => database.close(),
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
