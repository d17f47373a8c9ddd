import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';
import { isSlipwayError, SlipwayError } from '../src/errors.js';
import { runArgs, startRun } from './pipeline.js';

const between = positional(
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

type PromoteArgs =
  | ({ walk: false } & ReturnType<typeof between>)
  | ({ walk: true } & ReturnType<typeof runArgs>);

/**
 * `promote <project> <from-env> <to-env> […]` promotes between two environments; `promote
 * <project> [confirm|force …]`, with no environments, walks the project's pipeline (a run of it
 * for the head of its first stage's branch).
 */
const grammar = (tokens: readonly string[]): PromoteArgs => {
  const second = tokens[1];
  if (tokens.length >= 1 && (second === undefined || second === 'confirm' || second === 'force')) {
    return { walk: true, ...runArgs(tokens, false) };
  }
  return { walk: false, ...between(tokens) };
};

export default defineCommand(grammar, {
  name: 'promote',
  summary:
    "Deploy exactly the commit live on one environment to another, through its test gate; with no environments, walk the project's pipeline",
  usage: [
    'promote <project> <from-env> <to-env> [confirm|force [reason]]',
    'promote <project> [confirm|force [reason]]',
  ],
  examples: ['promote api staging production', 'promote api staging production confirm', 'promote api'],
  role: 'deployer',
  // Forcing past a test gate is an admin's call (and audited).
  roleFor: (args) => (args.mode === 'force' ? 'admin' : 'deployer'),
  slash: true,
  project: (args) => args.project,
  handler: async (ctx, args) => {
    if (args.walk) return startRun(ctx, args, `/promote ${args.project}`);
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
