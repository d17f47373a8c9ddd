import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122045635_initial } from './Migration20261122045635_initial.js';
import { Migration20261123083934_api_tokens } from './Migration20261123083934_api_tokens.js';
import { Migration20261123085822_notifications } from './Migration20261123085822_notifications.js';
import { Migration20261201095006_activation_started } from './Migration20261201095006_activation_started.js';

/**
 * Every migration, in order. Listed here rather than discovered on disk so that the compiled
 * build and the TypeScript sources run the very same list. Never edit a released migration:
 * add a new one (`npm run migration:create`) and list it below.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261122045635_initial', class: Migration20261122045635_initial },
  { name: 'Migration20261123083934_api_tokens', class: Migration20261123083934_api_tokens },
  { name: 'Migration20261123085822_notifications', class: Migration20261123085822_notifications },
  { name: 'Migration20261201095006_activation_started', class: Migration20261201095006_activation_started },
];
