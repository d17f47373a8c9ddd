import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';

const grammar = positional(
  ['project', 'from', 'to'],
  z.object({ project: nameArg('<project>'), from: nameArg('<from-env>'), to: nameArg('<to-env>') }),
);

export default defineCommand(grammar, {
  name: 'promote',
  summary: 'Deploy exactly the commit live on one environment to another',
  usage: ['promote <project> <from-env> <to-env>'],
  examples: ['promote api staging production'],
  role: 'deployer',
  slash: true,
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const deployment = await ctx.services.deployments.requestPromote(ctx.actor, args);
    return {
      reply: deploymentReply(await ctx.services.views.deployment(deployment.id)),
      track: deployment.id,
    };
  },
});
