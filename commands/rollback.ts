import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';

const grammar = positional(
  ['project', 'env', 'release?'],
  z.object({
    project: nameArg('<project>'),
    env: nameArg('<env>'),
    release: z
      .string()
      .regex(
        /^(#?\d{1,9}|\d{14}-[A-Za-z0-9]{1,40})$/,
        '[release] must be a release name like 20261201093031-0000000042, or a deployment number like #42',
      )
      .optional(),
  }),
);

export default defineCommand(grammar, {
  name: 'rollback',
  summary: 'Point an environment back to its previous release, or to a named one (no rebuild)',
  usage: ['rollback <project> <env> [release|#n]'],
  examples: ['rollback api production', 'rollback api production #42'],
  role: 'deployer',
  roleReason: 'roll back',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const deployment = await ctx.services.deployments.requestRollback(ctx.actor, {
      project: args.project,
      environment: args.env,
      ...(args.release ? { release: args.release } : {}),
    });
    return {
      reply: deploymentReply(await ctx.services.views.deployment(deployment.id)),
      track: deployment.id,
    };
  },
});
