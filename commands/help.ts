import { z } from 'zod';
import { defineCommand, positional } from '../src/chat/command.js';
import { spellUsage } from '../src/chat/router.js';
import { SlipwayError } from '../src/errors.js';

const grammar = positional(['command?'], z.object({ command: z.string().max(40).optional() }));

export default defineCommand(grammar, {
  name: 'help',
  summary: 'What Slipway can do, or how to use one command',
  usage: ['help [command]'],
  examples: ['help deploy'],
  role: null,
  instant: true,
  handler: async (ctx, args) => {
    if (args.command) {
      const command = ctx.commands.find((c) => c.name === args.command?.toLowerCase());
      if (!command) {
        throw new SlipwayError(
          'not_found',
          `There is no command "${args.command}". Commands: ${ctx.commands.map((c) => c.name).join(', ')}.`,
        );
      }
      const spelled = (line: string) => spellUsage(line, ctx.spell);
      return {
        reply: {
          title: ctx.spell(command.name),
          text: `${command.summary}.\n${command.usage.map((u) => `Usage: ${spelled(u)}`).join('\n')}`,
          fields: [
            { label: 'Role', value: command.role ?? 'anyone' },
            ...(command.examples.length
              ? [{ label: 'Examples', value: command.examples.map(spelled).join('\n') }]
              : []),
          ],
          status: 'info',
          ephemeral: true,
        },
      };
    }
    return {
      reply: {
        title: 'Slipway commands',
        text: ctx.commands
          .map((c) => `${spellUsage(c.usage[0] ?? c.name, ctx.spell)} — ${c.summary}`)
          .join('\n'),
        footer: `${ctx.spell('help')} <command> for details.`,
        status: 'info',
        ephemeral: true,
      },
    };
  },
});
