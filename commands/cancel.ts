import { z } from 'zod';
import { defineCommand, deploymentArg, positional } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';

const grammar = positional(['deployment'], z.object({ deployment: deploymentArg }));

export default defineCommand(grammar, {
  name: 'cancel',
  summary: 'Cancel a queued, waiting or running deployment (before activation)',
  usage: ['cancel <deployment>'],
  examples: ['cancel 42'],
  role: 'deployer',
  // The project is known only once the deployment is found: the handler checks the role there.
  roleFor: () => null,
  replacesClickedMessage: true,
  handler: async (ctx, args) => {
    const view = await ctx.services.views.deployment(args.deployment);
    await ctx.services.access.require(ctx.actor, view.project, 'deployer', 'cancel deployments');
    await ctx.services.deployments.cancel(ctx.actor, view.id);
    return { reply: deploymentReply(await ctx.services.views.deployment(view.id)), track: view.id };
  },
});
