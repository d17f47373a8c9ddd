import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { SlipwayError } from '../src/errors.js';
import { ROLES } from '../src/vocabulary.js';

const role = z.enum(ROLES, { error: `<role> must be one of ${ROLES.join(', ')}` });
const list = positional(['project'], z.object({ project: nameArg('<project>') }));
const grant = positional(
  ['project', 'user', 'role'],
  z.object({ project: nameArg('<project>'), user: z.string().min(1), role }),
);
const revoke = positional(
  ['project', 'user'],
  z.object({ project: nameArg('<project>'), user: z.string().min(1) }),
);

type MembersArgs =
  | { sub: 'list'; project: string }
  | { sub: 'grant'; project: string; user: string; role: (typeof ROLES)[number] }
  | { sub: 'revoke'; project: string; user: string };

const grammar = (tokens: readonly string[]): MembersArgs => {
  const [sub, ...rest] = tokens;
  if (sub === 'list') return { sub, ...list(rest) };
  if (sub === 'grant') return { sub, ...grant(rest) };
  if (sub === 'revoke') return { sub, ...revoke(rest) };
  throw new SlipwayError(
    'invalid_input',
    sub
      ? `Unknown subcommand "${sub.slice(0, 40)}": use list, grant or revoke.`
      : 'Say list, grant or revoke.',
  );
};

export default defineCommand(grammar, {
  name: 'members',
  summary: 'List, grant or revoke roles on a project (admins)',
  usage: [
    'members list <project>',
    'members grant <project> <@user> <role>',
    'members revoke <project> <@user>',
  ],
  examples: ['members grant api @ada approver'],
  role: 'admin',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const { access } = ctx.services;
    if (args.sub === 'list') {
      const rows = await access.list(ctx.actor, args.project);
      return {
        reply: {
          title: `Members of ${args.project}`,
          text: rows.length
            ? rows.map((r) => `${r.name}: ${r.role}${r.scope === 'global' ? ' (global)' : ''}`).join('\n')
            : 'No members yet.',
          status: 'info',
        },
      };
    }
    const target = ctx.mention(args.user);
    if (!target)
      throw new SlipwayError(
        'invalid_input',
        `"${args.user.slice(0, 40)}" is not a user: mention them — type @ and pick the person from the list, so the platform names them (a name typed as text names nobody).`,
      );
    if (args.sub === 'grant') {
      const row = await access.grant(ctx.actor, args.project, target, args.role);
      return { reply: { text: `${row.name} is now ${args.role} on ${args.project}.`, status: 'success' } };
    }
    const removed = await access.revoke(ctx.actor, args.project, target);
    return {
      reply: {
        text: removed
          ? `${target.displayName} no longer has a role on ${args.project}.`
          : `${target.displayName} had no role on ${args.project}.`,
        status: removed ? 'success' : 'info',
        ephemeral: !removed,
      },
    };
  },
});
