import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { gitRef, projectParams, timestamp } from '../schemas.js';

const commitJson = z
  .object({
    sha: z.string(),
    subject: z.string().describe("The message's first line"),
    message: z.string(),
    author: z.string(),
    authored_at: timestamp,
  })
  .strict();
apiSchemas.add(commitJson, { id: 'Commit' });

const sha = z
  .string({ error: 'since is required' })
  .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'since must be a full 40-character lowercase commit id');

/** The promotion platform's "commits since a SHA", read from git (any host). */
export function registerCommitRoutes(api: ApiInstance, deps: ApiDeps): void {
  api.get('/projects/:project/commits', {
    schema: operation(
      {
        tags: ['Promotions'],
        summary: 'List the commits between a SHA and the head of a branch',
        description:
          "The commits the head of `branch` (default: the project's branch) has that `since` has not, newest first (at most `limit`, default 100), with how many there are in all, how many of `since`'s commits the head lacks (`behind`), and the git host's compare page for GitHub, GitLab and Bitbucket repositories. Read from the repository itself, with the project's key. 404 when `since` is not in the repository.",
        role: 'viewer',
      },
      {
        params: projectParams,
        querystring: z
          .object({
            since: sha,
            branch: gitRef('branch').optional(),
            limit: z.coerce
              .number({ error: 'limit must be a number' })
              .int('limit must be a whole number')
              .min(1, 'limit must be between 1 and 250')
              .max(250, 'limit must be between 1 and 250')
              .default(100),
          })
          .strict(),
        response: {
          200: z
            .object({
              project: z.string(),
              branch: z.string(),
              head: z.string(),
              since: z.string(),
              total: z.number().int(),
              behind: z.number().int(),
              compare_url: z.string().nullable(),
              commits: z.array(commitJson),
            })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const q = request.query;
      const found = await deps.commits.since(request.params.project, q.since, q.branch, q.limit);
      return {
        project: found.project,
        branch: found.branch,
        head: found.head,
        since: found.since,
        total: found.total,
        behind: found.behind,
        compare_url: found.compareUrl,
        commits: found.commits.map((c) => ({
          sha: c.sha,
          subject: c.subject,
          message: c.message,
          author: c.author,
          authored_at: c.authoredAt,
        })),
      };
    },
  });
}
