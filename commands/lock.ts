import { z } from 'zod';
import { defineCommand, nameArg, parseDuration } from '../src/chat/command.js';
import { utc } from '../src/chat/replies.js';
import { SlipwayError } from '../src/errors.js';

const head = z.object({ project: nameArg('<project>'), env: nameArg('<env>') });

const grammar = (tokens: readonly string[]) => {
  const [project, env, ...rest] = tokens;
  if (project === undefined) throw new SlipwayError('invalid_input', '<project> is missing.');
  if (env === undefined) throw new SlipwayError('invalid_input', '<env> is missing.');
  const parsed = head.safeParse({ project, env });
  if (!parsed.success) throw new SlipwayError('invalid_input', `${parsed.error.issues[0]?.message}.`);
  let minutes: number | null = null;
  const forAt = rest.length >= 2 ? rest.length - 2 : -1;
  if (forAt >= 0 && rest[forAt]?.toLowerCase() === 'for') {
    minutes = parseDuration(rest[forAt + 1] ?? '');
    if (minutes === null) {
      throw new SlipwayError(
        'invalid_input',
        `"${rest[forAt + 1]}" is not a duration: use 30m, 2h or 1d (at most 30d).`,
      );
    }
    rest.splice(forAt, 2);
  }
  const reason = rest.join(' ').slice(0, 500) || null;
  return { ...parsed.data, reason, minutes };
};

export default defineCommand(grammar, {
  name: 'lock',
  summary: 'Lock an environment: only you can deploy to it until you unlock it',
  usage: ['lock <project> <env> [reason] [for <duration>]'],
  examples: ['lock api production db migration for 2h'],
  role: 'deployer',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const lock = await ctx.services.locks.lock(ctx.actor, {
      project: args.project,
      environment: args.env,
      reason: args.reason,
      minutes: args.minutes,
    });
    return {
      reply: {
        title: `🔒 ${lock.project}/${lock.environment} locked`,
        text: `Locked by ${lock.holder}${lock.reason ? `: ${lock.reason}` : ''}${lock.expiresAt ? `, until ${utc(lock.expiresAt)}` : ''}.`,
        status: 'warning',
      },
    };
  },
});
