import { z } from 'zod';
import { defineCommand, nameArg, positional, refArg } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';

const grammar = positional(
  ['project', 'env', 'ref?'],
  z.object({ project: nameArg('<project>'), env: nameArg('<env>'), ref: refArg.optional() }),
);

export default defineCommand(grammar, {
  name: 'deploy',
  summary: 'Deploy a branch, tag or commit to an environment',
  usage: ['deploy <project> <env> [ref]'],
  examples: ['deploy api staging', 'deploy api production v1.4.2'],
  role: 'deployer',
  slash: true,
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const request: { project: string; environment: string; ref?: string } = {
      project: args.project,
      environment: args.env,
    };
    if (args.ref) request.ref = args.ref;
    const deployment = await ctx.services.deployments.requestDeploy(ctx.actor, request);
    return {
      reply: deploymentReply(await ctx.services.views.deployment(deployment.id)),
      track: deployment.id,
    };
  },
});
