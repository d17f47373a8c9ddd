import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { environmentLine } from '../src/chat/replies.js';

const grammar = positional(['project'], z.object({ project: nameArg('<project>') }));

export default defineCommand(grammar, {
  name: 'status',
  summary: 'Each environment of a project: tier, live commit, last deploy, lock, pending approvals',
  usage: ['status <project>'],
  examples: ['status api'],
  role: 'viewer',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const environments = await ctx.services.views.environments(args.project);
    return {
      reply: {
        title: `Status of ${args.project}`,
        text: environments.length ? environments.map(environmentLine).join('\n') : 'No environments yet.',
        status: 'info',
      },
    };
  },
});
