import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';

const grammar = positional(
  ['project', 'env'],
  z.object({ project: nameArg('<project>'), env: nameArg('<env>') }),
);

export default defineCommand(grammar, {
  name: 'rollback',
  summary: 'Point an environment back to its previous release (no rebuild)',
  usage: ['rollback <project> <env>'],
  examples: ['rollback api production'],
  role: 'deployer',
  roleReason: 'roll back',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const deployment = await ctx.services.deployments.requestRollback(ctx.actor, {
      project: args.project,
      environment: args.env,
    });
    return {
      reply: deploymentReply(await ctx.services.views.deployment(deployment.id)),
      track: deployment.id,
    };
  },
});
