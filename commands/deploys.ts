import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { shortSha, utc } from '../src/chat/replies.js';

const grammar = positional(
  ['project', 'env'],
  z.object({ project: nameArg('<project>'), env: nameArg('<env>') }),
);

export default defineCommand(grammar, {
  name: 'deploys',
  summary: 'The last 10 deployments of an environment',
  usage: ['deploys <project> <env>'],
  examples: ['deploys api production'],
  role: 'viewer',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const rows = await ctx.services.views.history(args.project, args.env, 10);
    return {
      reply: {
        title: `Deployments of ${args.project}/${args.env}`,
        text: rows.length
          ? rows
              .map(
                (d) =>
                  `#${d.number} ${d.kind} ${d.status} · ${d.ref === d.commit ? shortSha(d.commit) : `${d.ref} (${shortSha(d.commit)})`} · ${d.requestedBy} · ${utc(d.createdAt)}`,
              )
              .join('\n')
          : 'No deployments yet.',
        status: 'info',
      },
    };
  },
});
