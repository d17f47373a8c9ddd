import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122045635_initial } from './Migration20261122045635_initial.js';

/**
 * Every migration, in order. Listed here rather than discovered on disk so that the compiled
 * build and the TypeScript sources run the very same list. Never edit a released migration:
 * add a new one (`npm run migration:create`) and list it below.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261122045635_initial', class: Migration20261122045635_initial },
];
