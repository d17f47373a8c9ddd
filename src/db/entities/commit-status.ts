import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { COMMIT_STATUS_STATES } from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { Project } from './project.js';

/**
 * A test result for a commit, reported by CI (GitHub's commit statuses: one state per
 * context, the latest report wins). Promotions read them through the project's test gates.
 */
export const CommitStatus = defineEntity({
  name: 'CommitStatus',
  tableName: 'commit_statuses',
  uniques: [{ name: 'commit_statuses_one_per_context', properties: ['project', 'commitHash', 'context'] }],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    commitHash: p.string().length(64),
    context: p.string().length(100),
    state: p.enum(COMMIT_STATUS_STATES),
    description: p.text().nullable(),
    targetUrl: p.text().nullable(),
    reportedByName: p.string().length(255),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type ICommitStatus = InferEntity<typeof CommitStatus>;
