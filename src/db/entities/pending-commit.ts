import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Environment } from './environment.js';

/**
 * A commit pushed to the branch of a `do_nothing` environment and not deployed there yet: what a
 * manual build (or `/deploy`) would ship. `seq` keeps the order of the pushes; the rows up to the
 * live commit are dropped once it is live, and a forced push replaces the list.
 */
export const PendingCommit = defineEntity({
  name: 'PendingCommit',
  tableName: 'pending_commits',
  uniques: [{ name: 'pending_commits_once', properties: ['environment', 'commitHash'] }],
  properties: {
    id: uuidPrimaryKey(),
    seq: p.bigint('number').autoincrement().unique(),
    environment: () => p.manyToOne(Environment).deleteRule('cascade'),
    commitHash: p.string().length(64),
    message: p.text().nullable(),
    author: p.string().length(255).nullable(),
    /** Who pushed it, as the repository host named them (`github:octocat`). */
    pushedBy: p.string().length(255),
    pushedAt: createdAt(),
  },
});
export type IPendingCommit = InferEntity<typeof PendingCommit>;
