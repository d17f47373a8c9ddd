import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { PIPELINE_STEP_KINDS } from '../../vocabulary.js';
import { createdAt, uuidPrimaryKey } from './common.js';
import { Environment } from './environment.js';
import { Project } from './project.js';

/** Escape's model: ordered stages of steps that `/promote` walks. */
export const Pipeline = defineEntity({
  name: 'Pipeline',
  tableName: 'pipelines',
  uniques: [{ properties: ['project', 'name'] }],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    name: p.string().length(255),
    createdAt: createdAt(),
  },
});
export type IPipeline = InferEntity<typeof Pipeline>;

export const PipelineStage = defineEntity({
  name: 'PipelineStage',
  tableName: 'pipeline_stages',
  uniques: [{ properties: ['pipeline', 'position'] }],
  properties: {
    id: uuidPrimaryKey(),
    pipeline: () => p.manyToOne(Pipeline).deleteRule('cascade'),
    position: p.integer(),
    name: p.string().length(255),
    environment: () => p.manyToOne(Environment).nullable().deleteRule('set null'),
  },
});
export type IPipelineStage = InferEntity<typeof PipelineStage>;

export interface PipelineStepConfig {
  /** confirmation: who must confirm. */
  team?: string;
  user?: string;
  /** run-smoke: the command; webhook-trigger: the URL. */
  command?: string;
  url?: string;
}

export const PipelineStep = defineEntity({
  name: 'PipelineStep',
  tableName: 'pipeline_steps',
  uniques: [{ properties: ['stage', 'position'] }],
  properties: {
    id: uuidPrimaryKey(),
    stage: () => p.manyToOne(PipelineStage).deleteRule('cascade'),
    position: p.integer(),
    kind: p.enum(PIPELINE_STEP_KINDS),
    config: p.json<PipelineStepConfig>().default('{}'),
  },
});
export type IPipelineStep = InferEntity<typeof PipelineStep>;
