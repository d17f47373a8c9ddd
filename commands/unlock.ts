import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';

const grammar = positional(
  ['project', 'env'],
  z.object({ project: nameArg('<project>'), env: nameArg('<env>') }),
);

export default defineCommand(grammar, {
  name: 'unlock',
  summary: 'Unlock an environment (admins may break someone else’s lock)',
  usage: ['unlock <project> <env>'],
  examples: ['unlock api production'],
  role: 'deployer',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const { broke } = await ctx.services.locks.unlock(ctx.actor, {
      project: args.project,
      environment: args.env,
    });
    return {
      reply: {
        title: `🔓 ${args.project}/${args.env} unlocked`,
        text: broke
          ? `${ctx.actor.name} broke ${broke.holder}'s lock${broke.reason ? ` (${broke.reason})` : ''}; recorded in the audit log.`
          : `Unlocked by ${ctx.actor.name}.`,
        status: 'success',
      },
    };
  },
});
