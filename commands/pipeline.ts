import { z } from 'zod';
import type { CommandContext } from '../src/chat/command.js';
import { defineCommand, nameArg, positional, refArg } from '../src/chat/command.js';
import type { CommandResult } from '../src/chat/model.js';
import { executionReply } from '../src/chat/pipeline-replies.js';
import { utc } from '../src/chat/replies.js';
import { isSlipwayError, SlipwayError } from '../src/errors.js';

const executionArg = z
  .string({ error: '<run> is missing' })
  .regex(/^[0-9a-f-]{36}$/i, '<run> must be a pipeline run id (the buttons carry it)');

type Mode = 'confirm' | 'force';
type PipelineArgs =
  | { sub: 'list'; project: string }
  | { sub: 'runs'; project: string; name: string }
  | { sub: 'show'; project: string; name: string; run: string }
  | { sub: 'run'; project: string; name: string | null; ref?: string; mode?: Mode; reason?: string }
  | { sub: 'confirm' | 'reject'; execution: string };

const list = positional(['project'], z.object({ project: nameArg('<project>') }));
const runs = positional(
  ['project', 'name'],
  z.object({ project: nameArg('<project>'), name: nameArg('<pipeline>') }),
);
const show = positional(
  ['project', 'name', 'run'],
  z.object({
    project: nameArg('<project>'),
    name: nameArg('<pipeline>'),
    run: z.string().regex(/^#?\d{1,9}$/, '<run> must be a run number like 3'),
  }),
);
const decision = positional(['execution'], z.object({ execution: executionArg }));

/** `run <project> <pipeline> [ref] [confirm | force [reason…]]` (also what `/promote <project>` runs). */
export function runArgs(tokens: readonly string[], named: boolean): Extract<PipelineArgs, { sub: 'run' }> {
  const rest = [...tokens];
  const project = nameArg('<project>').safeParse(rest.shift());
  if (!project.success) throw new SlipwayError('invalid_input', `${project.error.issues[0]?.message}.`);
  let name: string | null = null;
  if (named) {
    const parsed = nameArg('<pipeline>').safeParse(rest.shift());
    if (!parsed.success) throw new SlipwayError('invalid_input', `${parsed.error.issues[0]?.message}.`);
    name = parsed.data;
  }
  const isMode = (token: string | undefined): token is Mode => token === 'confirm' || token === 'force';
  const ref = rest[0] !== undefined && !isMode(rest[0]) ? refArg.parse(rest.shift()) : undefined;
  const mode: Mode | undefined = isMode(rest[0]) ? rest[0] : undefined;
  if (mode) rest.shift();
  if (rest.length && mode !== 'force') {
    throw new SlipwayError('invalid_input', `Unexpected "${rest.join(' ').slice(0, 60)}".`);
  }
  return {
    sub: 'run',
    project: project.data,
    name,
    ...(ref ? { ref } : {}),
    ...(mode ? { mode } : {}),
    ...(rest.length ? { reason: rest.join(' ').slice(0, 500) } : {}),
  };
}

const grammar = (tokens: readonly string[]): PipelineArgs => {
  const [sub, ...rest] = tokens;
  if (sub === 'list') return { sub, ...list(rest) };
  if (sub === 'runs') return { sub, ...runs(rest) };
  if (sub === 'show') return { sub, ...show(rest) };
  if (sub === 'run') return runArgs(rest, true);
  if (sub === 'confirm' || sub === 'reject') return { sub, ...decision(rest) };
  throw new SlipwayError(
    'invalid_input',
    sub
      ? `Unknown subcommand "${sub.slice(0, 40)}": use list, runs, show, run, confirm or reject.`
      : 'Say list, runs, show, run, confirm or reject.',
  );
};

/** Starts a run and answers with its card, kept up to date; a closed gate says what to type next. */
export async function startRun(
  ctx: CommandContext,
  args: Extract<PipelineArgs, { sub: 'run' }>,
  again: string,
): Promise<CommandResult> {
  try {
    const started = await ctx.services.executions.start(ctx.actor, args.project, args.name, {
      ...(args.ref ? { ref: args.ref } : {}),
      ...(args.mode === 'confirm' ? { confirm: true } : {}),
      ...(args.mode === 'force' ? { force: true } : {}),
      ...(args.reason ? { reason: args.reason } : {}),
    });
    return { reply: executionReply(started), trackExecution: started.id };
  } catch (error) {
    if (isSlipwayError(error, 'refused') && error.details?.gate) {
      const next =
        error.details.gate === 'warn' ? `Type: ${again} confirm` : `An admin may force it: ${again} force`;
      throw new SlipwayError('refused', `${error.message} ${next}`, error.details);
    }
    throw error;
  }
}

export default defineCommand(grammar, {
  name: 'pipeline',
  summary: "A project's pipelines: list them, run one, see its runs, confirm or reject a step",
  usage: [
    'pipeline list <project>',
    'pipeline run <project> <pipeline> [ref] [confirm|force [reason]]',
    'pipeline runs <project> <pipeline>',
    'pipeline show <project> <pipeline> <run>',
    'pipeline confirm <run id>',
    'pipeline reject <run id>',
  ],
  examples: ['pipeline run api release', 'pipeline runs api release', 'pipeline show api release 3'],
  role: 'viewer',
  project: (args) => ('project' in args ? args.project : null),
  // Confirmations name their own people (the pipeline service checks them); a run is a deployer's.
  roleFor: (args) =>
    args.sub === 'confirm' || args.sub === 'reject'
      ? null
      : args.sub === 'run'
        ? args.mode === 'force'
          ? 'admin'
          : 'deployer'
        : 'viewer',
  replacesClickedMessage: true,
  handler: async (ctx, args) => {
    const { executions, pipelines } = ctx.services;
    switch (args.sub) {
      case 'list': {
        const rows = await pipelines.list(args.project);
        return {
          reply: {
            title: `Pipelines of ${args.project}`,
            text: rows.length
              ? rows
                  .map(
                    (p) =>
                      `*${p.name}*: ${p.stages.map((s) => `${s.environment} (${s.steps.map((step) => step.kind).join(', ')})`).join(' → ')}`,
                  )
                  .join('\n')
              : `No pipelines yet: define one under pipelines: in slipway.yml.`,
            status: 'info',
          },
        };
      }
      case 'runs': {
        const page = await executions.page(args.project, args.name, { pageSize: 10 });
        return {
          reply: {
            title: `Runs of ${args.project}/${args.name}`,
            text: page.executions.length
              ? page.executions
                  .map(
                    (e) =>
                      `#${e.runNumber} ${e.status} · ${e.commit.slice(0, 8)} (${e.ref}) · ${e.requestedBy} · ${utc(new Date(e.createdAt))}`,
                  )
                  .join('\n')
              : 'No runs yet.',
            status: 'info',
          },
        };
      }
      case 'show': {
        const run = await executions.get(args.project, args.name, args.run.replace(/^#/, ''));
        return { reply: executionReply(run), trackExecution: run.id };
      }
      case 'run':
        return startRun(
          ctx,
          args,
          `/slipway pipeline run ${args.project} ${args.name} ${args.ref ?? ''}`.trimEnd(),
        );
      default: {
        const updated = await executions.decide(ctx.actor, args.execution, args.sub);
        return { reply: executionReply(updated), trackExecution: updated.id };
      }
    }
  },
});
