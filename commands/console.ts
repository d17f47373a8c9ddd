import { z } from 'zod';
import { defineCommand, positional } from '../src/chat/command.js';

const grammar = positional([], z.object({}));

/**
 * `/slipway console`: a one-time link that signs the person who asked in to the web console as
 * themselves — the identity of this signed request, on whichever platform it came from. Answered
 * privately: the link is theirs alone.
 */
export default defineCommand(grammar, {
  name: 'console',
  summary: 'A one-time link that signs you in to the web console (valid 15 minutes)',
  usage: ['console'],
  role: null,
  handler: async (ctx) => {
    const link = await ctx.services.consoleSignIn.issueLink(ctx.actor, ctx.invocation.user);
    return {
      reply: {
        title: 'Your sign-in link to the Slipway console',
        text: `${link.url}\nIt signs you in as yourself, works once, and expires in 15 minutes. Do not share it.`,
        status: 'info',
        ephemeral: true,
      },
    };
  },
});
