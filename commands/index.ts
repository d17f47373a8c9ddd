import type { Command } from '../src/chat/command.js';
import approve from './approve.js';
import cancel from './cancel.js';
import consoleCommand from './console.js';
import deploy from './deploy.js';
import deploys from './deploys.js';
import env from './env.js';
import heartbeat from './heartbeat.js';
import help from './help.js';
import lock from './lock.js';
import members from './members.js';
import pipeline from './pipeline.js';
import promote from './promote.js';
import reject from './reject.js';
import rollback from './rollback.js';
import status from './status.js';
import unlock from './unlock.js';

/**
 * Every chat command, buttons included: the single source of the parser, the help, and each
 * platform's registration (Slack's manifest and slash commands, …).
 */
export const COMMANDS: readonly Command[] = [
  deploy,
  promote,
  pipeline,
  rollback,
  cancel,
  approve,
  reject,
  env,
  lock,
  unlock,
  deploys,
  status,
  heartbeat,
  members,
  consoleCommand,
  help,
];
