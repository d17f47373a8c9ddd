import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';
import { isSlipwayError, SlipwayError } from '../src/errors.js';

const grammar = positional(
  ['project', 'from', 'to', 'mode?', 'reason...'],
  z
    .object({
      project: nameArg('<project>'),
      from: nameArg('<from-env>'),
      to: nameArg('<to-env>'),
      mode: z
        .enum(['confirm', 'force'], { error: 'After <to-env>, say "confirm" or (admins) "force"' })
        .optional(),
      reason: z.string().max(500).optional(),
    })
    .refine((args) => !args.reason || args.mode === 'force', {
      message: 'Only "force" takes a reason after it',
    }),
);

export default defineCommand(grammar, {
  name: 'promote',
  summary: 'Deploy exactly the commit live on one environment to another, through its test gate',
  usage: ['promote <project> <from-env> <to-env> [confirm|force [reason]]'],
  examples: ['promote api staging production', 'promote api staging production confirm'],
  role: 'deployer',
  // Forcing past a test gate is an admin's call (and audited).
  roleFor: (args) => (args.mode === 'force' ? 'admin' : 'deployer'),
  slash: true,
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const again = `/promote ${args.project} ${args.from} ${args.to}`;
    try {
      const outcome = await ctx.services.promotions.promoteBetween(
        ctx.actor,
        args.project,
        args.from,
        args.to,
        {
          confirm: args.mode === 'confirm',
          forcePromote: args.mode === 'force',
          ...(args.reason ? { reason: args.reason } : {}),
        },
      );
      const reply = deploymentReply(await ctx.services.views.deployment(outcome.deployment.id));
      if (!outcome.gate.passed) {
        reply.footer = `${outcome.gate.message} ${outcome.forced ? 'Forced' : 'Confirmed'} by ${ctx.actor.name}.`;
      }
      return { reply, track: outcome.deployment.id };
    } catch (error) {
      // A closed test gate says what to type next: confirm past a warn gate, or an admin's force.
      if (isSlipwayError(error, 'refused') && error.details?.gate) {
        const next =
          error.details.gate === 'warn' ? `Type: ${again} confirm` : `An admin may force it: ${again} force`;
        throw new SlipwayError('refused', `${error.message} ${next}`, error.details);
      }
      throw error;
    }
  },
});
