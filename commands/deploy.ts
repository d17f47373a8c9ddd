import { z } from 'zod';
import { defineCommand, nameArg, refArg } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';
import { isSlipwayError, SlipwayError } from '../src/errors.js';

const MODES = ['confirm', 'force'] as const;
type Mode = (typeof MODES)[number];

const head = z.object({ project: nameArg('<project>'), env: nameArg('<env>'), ref: refArg.optional() });

/**
 * `deploy <project> <env> [ref] [confirm | force [reason…]]`: `confirm` goes on past a `warn`
 * test gate; `force` (admins, like hubot's `deploy!`) past any, with an optional reason.
 */
const grammar = (tokens: readonly string[]) => {
  const [project, env, ...rest] = tokens;
  if (project === undefined) throw new SlipwayError('invalid_input', '<project> is missing.');
  if (env === undefined) throw new SlipwayError('invalid_input', '<env> is missing.');
  const isMode = (token: string | undefined): token is Mode => MODES.includes(token as Mode);
  const ref = rest[0] !== undefined && !isMode(rest[0]) ? rest.shift() : undefined;
  const mode = isMode(rest[0]) ? rest.shift() : undefined;
  if (rest.length && mode !== 'force') {
    throw new SlipwayError('invalid_input', `Unexpected "${rest.join(' ').slice(0, 60)}".`);
  }
  const parsed = head.safeParse({ project, env, ref });
  if (!parsed.success) throw new SlipwayError('invalid_input', `${parsed.error.issues[0]?.message}.`);
  return { ...parsed.data, mode, reason: rest.join(' ').slice(0, 500) || undefined };
};

export default defineCommand(grammar, {
  name: 'deploy',
  summary: 'Deploy a branch, tag or commit to an environment, through its test gate',
  usage: ['deploy <project> <env> [ref] [confirm|force [reason]]'],
  examples: ['deploy api staging', 'deploy api production v1.4.2', 'deploy api production main force hotfix'],
  role: 'deployer',
  // Forcing past a test gate is an admin's call (and audited).
  roleFor: (args) => (args.mode === 'force' ? 'admin' : 'deployer'),
  slash: true,
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const request: {
      project: string;
      environment: string;
      ref?: string;
      confirm?: boolean;
      force?: boolean;
      reason?: string;
    } = { project: args.project, environment: args.env };
    if (args.ref) request.ref = args.ref;
    if (args.mode === 'confirm') request.confirm = true;
    if (args.mode === 'force') request.force = true;
    if (args.reason) request.reason = args.reason;
    try {
      const deployment = await ctx.services.deployments.requestDeploy(ctx.actor, request);
      return {
        reply: deploymentReply(await ctx.services.views.deployment(deployment.id)),
        track: deployment.id,
      };
    } catch (error) {
      // A closed test gate says what to type next: confirm past a warn gate, or an admin's force.
      if (isSlipwayError(error, 'refused') && error.details?.gate) {
        const again =
          `/deploy ${args.project} ${args.env} ${String(error.details.ref ?? args.ref ?? '')}`.trim();
        const next =
          error.details.gate === 'warn' ? `Type: ${again} confirm` : `An admin may force it: ${again} force`;
        throw new SlipwayError('refused', `${error.message} ${next}`, error.details);
      }
      throw error;
    }
  },
});
