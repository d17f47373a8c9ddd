import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { type ApiInstance, operation } from '../route.js';
import { timestamp } from '../schemas.js';
import { environmentParams } from './environments.js';

const pendingJson = z
  .object({
    environment: z.string(),
    branch: z.string(),
    live_commit: z.string().nullable(),
    commits: z.array(
      z
        .object({
          sha: z.string(),
          message: z.string().nullable(),
          author: z.string().nullable(),
          pushed_by: z.string(),
          pushed_at: timestamp,
        })
        .strict(),
    ),
  })
  .strict();

/** What the repository told Slipway: commits pushed and not deployed yet. */
export function registerRepositoryRoutes(api: ApiInstance, deps: ApiDeps): void {
  api.get('/projects/:project/environments/:environment/pending_commits', {
    schema: operation(
      {
        tags: ['Promotions'],
        summary: 'Commits pushed to the environment’s branch and not live there yet',
        description:
          'For `do_nothing` environments: the commits GitHub pushes reported, oldest first, until one of them is live. A manual build (`…/build`) or a deploy ships them; a forced push replaces the list, a deleted branch empties it.',
        role: 'viewer',
      },
      { params: environmentParams, response: { 200: pendingJson } },
    ),
    handler: async (request) => {
      const pending = await deps.pendingCommits.list(request.params.project, request.params.environment);
      return {
        environment: pending.environment,
        branch: pending.branch,
        live_commit: pending.live,
        commits: pending.commits.map((commit) => ({
          sha: commit.sha,
          message: commit.message,
          author: commit.author,
          pushed_by: commit.pushedBy,
          pushed_at: commit.pushedAt,
        })),
      };
    },
  });
}
