import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122045635_initial } from './Migration20261122045635_initial.js';
import { Migration20261123083934_api_tokens } from './Migration20261123083934_api_tokens.js';
import { Migration20261123085822_notifications } from './Migration20261123085822_notifications.js';
import { Migration20261201092309_inbound_and_messages } from './Migration20261201092309_inbound_and_messages.js';
import { Migration20261201092733_live_state } from './Migration20261201092733_live_state.js';
import { Migration20261201093505_github } from './Migration20261201093505_github.js';
import { Migration20261201094111_commit_context } from './Migration20261201094111_commit_context.js';
import { Migration20261201095006_activation_started } from './Migration20261201095006_activation_started.js';
import { Migration20261201100353_console_sign_in } from './Migration20261201100353_console_sign_in.js';
import { Migration20261201101326_freeze_windows } from './Migration20261201101326_freeze_windows.js';
import { Migration20261201102745_pipelines } from './Migration20261201102745_pipelines.js';
import { Migration20261201151500_heartbeat_hot_check_ins } from './Migration20261201151500_heartbeat_hot_check_ins.js';

/**
 * Every migration, in order. Listed here rather than discovered on disk so that the compiled
 * build and the TypeScript sources run the very same list. Never edit a released migration:
 * add a new one (`npm run migration:create`) and list it below.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261122045635_initial', class: Migration20261122045635_initial },
  { name: 'Migration20261123083934_api_tokens', class: Migration20261123083934_api_tokens },
  { name: 'Migration20261123085822_notifications', class: Migration20261123085822_notifications },
  {
    name: 'Migration20261201092309_inbound_and_messages',
    class: Migration20261201092309_inbound_and_messages,
  },
  { name: 'Migration20261201092733_live_state', class: Migration20261201092733_live_state },
  { name: 'Migration20261201093505_github', class: Migration20261201093505_github },
  { name: 'Migration20261201094111_commit_context', class: Migration20261201094111_commit_context },
  { name: 'Migration20261201095006_activation_started', class: Migration20261201095006_activation_started },
  { name: 'Migration20261201100353_console_sign_in', class: Migration20261201100353_console_sign_in },
  { name: 'Migration20261201101326_freeze_windows', class: Migration20261201101326_freeze_windows },
  { name: 'Migration20261201102745_pipelines', class: Migration20261201102745_pipelines },
  {
    name: 'Migration20261201151500_heartbeat_hot_check_ins',
    class: Migration20261201151500_heartbeat_hot_check_ins,
  },
];
