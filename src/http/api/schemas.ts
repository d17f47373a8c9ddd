import { z } from 'zod';
import { isSafeRef, validateRef } from '../../core/deployments/index.js';
import type { DeploymentSummary } from '../../core/projects/index.js';
import { DEPLOYMENT_STATUSES, ENVIRONMENT_TIERS, ROLES } from '../../vocabulary.js';
import { apiSchemas } from './registry.js';

/** Names of projects, environments and servers: what the paths and bodies carry. */
export const resourceName = (what: string) =>
  z
    .string({ error: `${what} is required` })
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
      `${what} must be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );

/** A branch, tag or sha: git's ref rules plus Slipway's (no shell metacharacters, no leading "-"). */
export const gitRef = (what: string) =>
  z
    .string({ error: `${what} is required` })
    .min(1, `${what} is required`)
    .max(255, `${what} is too long`)
    .superRefine((value, ctx) => {
      if (isSafeRef(value)) return;
      try {
        validateRef(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    });

export const tier = z.enum(ENVIRONMENT_TIERS, {
  error: `tier must be one of ${ENVIRONMENT_TIERS.join(', ')}`,
});

export const role = z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` });

export const projectParams = z.object({ project: resourceName('project') }).strict();

export const timestamp = z.date();
export const nullableTimestamp = z.date().nullable();

/** Query booleans arrive as text. */
export const queryBoolean = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

export const deploymentSummary = z
  .object({
    id: z.uuid(),
    number: z.number().int(),
    kind: z.string(),
    status: z.enum(DEPLOYMENT_STATUSES),
    ref: z.string(),
    commit_hash: z.string().nullable(),
    commit_author: z.string().nullable(),
    commit_message: z.string().nullable(),
    requested_by: z.string(),
    source: z.string(),
    created_at: timestamp,
    started_at: nullableTimestamp,
    finished_at: nullableTimestamp,
  })
  .strict();
apiSchemas.add(deploymentSummary, { id: 'DeploymentSummary' });

export function summaryJson(d: DeploymentSummary): z.output<typeof deploymentSummary> {
  return {
    id: d.id,
    number: d.number,
    kind: d.kind,
    status: d.status,
    ref: d.ref,
    commit_hash: d.commit,
    commit_author: d.commitAuthor,
    commit_message: d.commitMessage,
    requested_by: d.requestedBy,
    source: d.source,
    created_at: d.createdAt,
    started_at: d.startedAt,
    finished_at: d.finishedAt,
  };
}

export const message = z.object({ message: z.string() }).strict();
export const noContent = z.undefined();
