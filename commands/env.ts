import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { environmentLine, shortSha, utc } from '../src/chat/replies.js';
import { SlipwayError } from '../src/errors.js';

type EnvArgs = { sub: 'list'; project?: string } | { sub: 'show'; project: string; env: string };

const list = positional(['project?'], z.object({ project: nameArg('<project>').optional() }));
const show = positional(
  ['project', 'env'],
  z.object({ project: nameArg('<project>'), env: nameArg('<env>') }),
);

const grammar = (tokens: readonly string[]): EnvArgs => {
  const [sub, ...rest] = tokens;
  if (sub === 'list' || sub === undefined) return { sub: 'list', ...list(rest) };
  if (sub === 'show') return { sub: 'show', ...show(rest) };
  throw new SlipwayError('invalid_input', `Unknown subcommand "${sub.slice(0, 40)}": use list or show.`);
};

export default defineCommand(grammar, {
  name: 'env',
  summary: 'List environments, or show one',
  usage: ['env list [project]', 'env show <project> <env>'],
  examples: ['env list', 'env show api production'],
  role: 'viewer',
  project: (args) => args.project ?? null,
  // Without a project, the list shows the projects the member may view (filtered below).
  roleFor: (args) => (args.project ? 'viewer' : null),
  handler: async (ctx, args) => {
    if (args.sub === 'list') {
      let environments = await ctx.services.views.environments(args.project);
      if (!args.project) {
        const projects = [...new Set(environments.map((e) => e.project))];
        const visible = new Set<string>();
        for (const project of projects) {
          if (await ctx.services.access.can(ctx.actor, project, 'viewer')) visible.add(project);
        }
        environments = environments.filter((e) => visible.has(e.project));
      }
      return {
        reply: {
          title: args.project ? `Environments of ${args.project}` : 'Environments',
          text: environments.length ? environments.map(environmentLine).join('\n') : 'No environments yet.',
          status: 'info',
        },
      };
    }
    const e = await ctx.services.views.environment(args.project, args.env);
    return {
      reply: {
        title: `${e.project}/${e.name}`,
        text: environmentLine(e),
        status: 'info',
        fields: [
          { label: 'Tier', value: e.tier },
          { label: 'Branch', value: e.branch },
          { label: 'State', value: e.state },
          { label: 'Servers', value: e.servers.join(', ') || 'none' },
          { label: 'Live commit', value: shortSha(e.liveCommit) },
          { label: 'Approvals required', value: String(e.approvalsRequired) },
          {
            label: 'Freeze',
            value: e.freeze?.active
              ? `frozen until ${utc(e.freeze.active.until)}${e.freeze.active.reason ? `: ${e.freeze.active.reason}` : ''}`
              : e.freeze?.next
                ? `none now; next from ${utc(e.freeze.next.at)}${e.freeze.next.reason ? ` (${e.freeze.next.reason})` : ''}`
                : 'none',
          },
          {
            label: 'Lock',
            value: e.lock
              ? `${e.lock.holder} since ${utc(e.lock.since)}${e.lock.reason ? `: ${e.lock.reason}` : ''}`
              : 'unlocked',
          },
        ],
      },
    };
  },
});
