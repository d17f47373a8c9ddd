import { z } from 'zod';
import { defineCommand, nameArg, positional } from '../src/chat/command.js';
import { environmentLine } from '../src/chat/replies.js';

const grammar = positional(['project'], z.object({ project: nameArg('<project>') }));

export default defineCommand(grammar, {
  name: 'status',
  summary:
    "Each environment of a project: live release and commit, last deploy, lock, freeze, pending approvals; its pipeline's stages when it has one",
  usage: ['status <project>'],
  examples: ['status api'],
  role: 'viewer',
  project: (args) => args.project,
  handler: async (ctx, args) => {
    const [environments, pipeline] = await Promise.all([
      ctx.services.views.environments(args.project),
      ctx.services.pipeline.pipeline(args.project),
    ]);
    const lines: string[] = [];
    let ordered = environments;
    if (pipeline.pipeline) {
      const p = pipeline.pipeline;
      const stages = pipeline.stages.map((stage) =>
        stage.steps.length
          ? `${stage.stage} (${stage.steps.map((step) => step.type).join(', ')})`
          : stage.stage,
      );
      const latest = p.latest ? ` · last run #${p.latest.runNumber} ${p.latest.status}` : ' · never run';
      lines.push(`Pipeline *${p.name}*: ${stages.join(' → ')}${latest}`);
      // The pipeline's environments in stage order, then the others.
      const order = pipeline.stages.map((stage) => stage.stage);
      const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
      ordered = [...environments].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
    }
    lines.push(...ordered.map(environmentLine));
    return {
      reply: {
        title: `Status of ${args.project}`,
        text: environments.length ? lines.join('\n') : 'No environments yet.',
        status: 'info',
      },
    };
  },
});
