import { z } from 'zod';
import type { PipelineStepConfig } from '../../db/entities/index.js';
import { CHAT_PLATFORMS, type PipelineStepKind, ROLES } from '../../vocabulary.js';

/**
 * A pipeline as people write it (slipway.yml, REST): ordered stages, each naming the environment
 * it deploys and its steps, each step a one-key map:
 *
 *   - confirmation: {role: approver}        # or {users: [slack:T1:U2]}
 *   - run-smoke: {command: "curl -fsS …"}
 *   - webhook-trigger: {url: "https://…"}
 *   - deploy: {}                            # where the stage deploys; see below
 *
 * A stage deploys its environment after its leading confirmations (so a confirmation first in
 * the list gates the deploy) and before its other steps (so a smoke test runs on what was
 * deployed); a `deploy` step puts the deploy exactly where it stands instead.
 */
const identity = z
  .string({ error: 'each user must be platform:workspace:user' })
  .regex(
    new RegExp(`^(${CHAT_PLATFORMS.join('|')}):[^:\\s]+:[^:\\s]+$`),
    `each user must be platform:workspace:user with platform one of ${CHAT_PLATFORMS.join(', ')} (e.g. slack:T123:U456)`,
  );

const confirmation = z
  .object({
    role: z.enum(ROLES, { error: `role must be one of ${ROLES.join(', ')}` }).optional(),
    users: z.array(identity).min(1, 'users must name at least one person').max(50).optional(),
  })
  .strict()
  .refine((value) => (value.role === undefined) !== (value.users === undefined), {
    message: 'a confirmation names a role or users, one of them',
  });

const webhookUrl = z
  .url({ error: 'url must be a URL' })
  .max(2000)
  .refine((value) => /^https?:\/\//i.test(value), 'url must be an http(s) URL')
  .refine((value) => {
    const url = URL.parse(value);
    return !url || (!url.username && !url.password);
  }, 'url must not carry a user or password');

export const pipelineStepSchema = z.union(
  [
    z.object({ confirmation }).strict(),
    z.object({ 'run-smoke': z.object({ command: z.string().min(1).max(10_000) }).strict() }).strict(),
    z.object({ 'webhook-trigger': z.object({ url: webhookUrl }).strict() }).strict(),
    z.object({ deploy: z.object({}).strict() }).strict(),
  ],
  { error: 'each step is one of confirmation, run-smoke, webhook-trigger or deploy, with its settings' },
);

export const pipelineStageSchema = z
  .object({
    environment: z
      .string({ error: 'environment must be a name' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'environment must be an environment name'),
    steps: z.array(pipelineStepSchema).max(20, 'at most 20 steps a stage').default([]),
  })
  .strict()
  .refine((stage) => stage.steps.filter((step) => 'deploy' in step).length <= 1, {
    message: 'a stage deploys once: at most one deploy step',
  });

export const pipelineDefinitionSchema = z
  .object({
    stages: z.array(pipelineStageSchema).min(1, 'a pipeline has at least one stage').max(20),
  })
  .strict()
  .refine(
    (definition) => new Set(definition.stages.map((s) => s.environment)).size === definition.stages.length,
    { message: 'each environment may be a stage once' },
  );

export type PipelineStepInput = z.output<typeof pipelineStepSchema>;
export type PipelineStageInput = z.input<typeof pipelineStageSchema>;
export type PipelineDefinitionInput = z.input<typeof pipelineDefinitionSchema>;

export interface PipelineStepDefinition {
  kind: PipelineStepKind;
  config: PipelineStepConfig;
}

export interface PipelineStageDefinition {
  environment: string;
  /** In the order they run, the deploy included. */
  steps: PipelineStepDefinition[];
}

/** A written step → kind and settings. */
function stepOf(step: PipelineStepInput): PipelineStepDefinition {
  if ('confirmation' in step) {
    const { role, users } = step.confirmation;
    return { kind: 'confirmation', config: role ? { role } : { users: users ?? [] } };
  }
  if ('run-smoke' in step) return { kind: 'run-smoke', config: { command: step['run-smoke'].command } };
  if ('webhook-trigger' in step)
    return { kind: 'webhook-trigger', config: { url: step['webhook-trigger'].url } };
  return { kind: 'deploy', config: {} };
}

/** The stage's steps in the order they run: the deploy after the leading confirmations, unless placed. */
export function stageSteps(steps: readonly PipelineStepInput[]): PipelineStepDefinition[] {
  const written = steps.map(stepOf);
  if (written.some((step) => step.kind === 'deploy')) return written;
  let at = 0;
  while (at < written.length && written[at]!.kind === 'confirmation') at++;
  return [...written.slice(0, at), { kind: 'deploy', config: {} }, ...written.slice(at)];
}

/** A step as it is written back (the API's and the file's form). */
export function writtenStep(step: PipelineStepDefinition): PipelineStepInput {
  switch (step.kind) {
    case 'confirmation':
      return {
        confirmation: step.config.role ? { role: step.config.role } : { users: step.config.users ?? [] },
      };
    case 'run-smoke':
      return { 'run-smoke': { command: step.config.command ?? '' } };
    case 'webhook-trigger':
      return { 'webhook-trigger': { url: step.config.url ?? '' } };
    default:
      return { deploy: {} };
  }
}
