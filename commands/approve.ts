import { z } from 'zod';
import { type Command, defineCommand, deploymentArg, positional } from '../src/chat/command.js';
import { deploymentReply } from '../src/chat/replies.js';

const grammar = positional(['deployment'], z.object({ deployment: deploymentArg }));

/**
 * Approve or reject a deployment that waits for approval: what the Approve and Reject buttons
 * run, and what can be typed where there are no buttons. The approval service holds the rules
 * (the environment's approver role, not one's own deployment, once per person, before expiry).
 */
export function approvalDecision(decision: 'approve' | 'reject'): Command {
  return defineCommand(grammar, {
    name: decision,
    summary:
      decision === 'approve'
        ? 'Approve a deployment that waits for approval'
        : 'Reject a deployment that waits for approval (one rejection ends it)',
    usage: [`${decision} <deployment>`],
    examples: [`${decision} 42`],
    // The role needed is the environment's approver role, checked by the approval service.
    role: null,
    replacesClickedMessage: true,
    handler: async (ctx, args) => {
      const { views, approvals } = ctx.services;
      const id = /^\d+$/.test(args.deployment)
        ? (await views.deployment(args.deployment)).id
        : args.deployment;
      await approvals.decide(ctx.actor, id, decision);
      const view = await views.deployment(id);
      return { reply: deploymentReply(view), track: view.id };
    },
  });
}

export default approvalDecision('approve');
