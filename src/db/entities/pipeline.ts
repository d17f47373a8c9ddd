import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import {
  PIPELINE_STATUSES,
  PIPELINE_STEP_KINDS,
  PIPELINE_STEP_STATUSES,
  type Role,
} from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';
import { Deployment } from './deployment.js';
import type { PostedMessage } from './deployment-message.js';
import { Environment } from './environment.js';
import { Member } from './member.js';
import { Project } from './project.js';

/** Escape's model: ordered stages, each deploying one environment with steps around it, that `/promote` walks. */
export const Pipeline = defineEntity({
  name: 'Pipeline',
  tableName: 'pipelines',
  uniques: [{ properties: ['project', 'name'] }],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    name: p.string().length(100),
    /** Signs webhook-trigger bodies (HMAC-SHA256); sealed with SecretBox (purpose `pipeline.signing_secret`). */
    signingSecret: p.text().hidden(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
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
    /** The environment the stage deploys; null once that environment is deleted (the pipeline then refuses to run). */
    environment: () => p.manyToOne(Environment).nullable().deleteRule('set null'),
  },
});
export type IPipelineStage = InferEntity<typeof PipelineStage>;

/** What a step does: who confirms, which command or URL. */
export interface PipelineStepConfig {
  /** confirmation: anyone holding this role on the project (not the one who started the run) … */
  role?: Role;
  /** … or one of these people, as `platform:workspace:user`. */
  users?: string[];
  /** run-smoke: the command, run in the release on each of the stage's servers. */
  command?: string;
  /** webhook-trigger: where the signed POST goes. */
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

/**
 * One run of a pipeline for one commit (Escape's execution, numbered per pipeline). Its steps are
 * copied from the pipeline when it starts, so editing the pipeline never changes a run under way.
 */
export const PipelineExecution = defineEntity({
  name: 'PipelineExecution',
  tableName: 'pipeline_executions',
  uniques: [
    { name: 'pipeline_executions_run_number', properties: ['pipeline', 'runNumber'] },
    {
      // One run of a pipeline at a time, whatever replica or race starts a second.
      name: 'pipeline_executions_one_active',
      properties: ['pipeline'],
      where: "status in ('new', 'pending', 'running')",
    },
  ],
  indexes: [{ properties: ['status', 'updatedAt'] }],
  properties: {
    id: uuidPrimaryKey(),
    pipeline: () => p.manyToOne(Pipeline).deleteRule('cascade'),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    runNumber: p.integer(),
    status: p.enum(PIPELINE_STATUSES).default('new'),
    /** What was asked for (branch, tag or sha) and the commit it resolved to: every stage deploys that commit. */
    ref: p.string().length(255),
    commitHash: p.string().length(64),
    commitMessage: p.text().nullable(),
    commitAuthor: p.string().length(255).nullable(),
    requestedBy: () => p.manyToOne(Member).nullable().deleteRule('set null'),
    requestedByName: p.string().length(255),
    source: p.string().length(32),
    /** The test gates were confirmed (warn) or forced (an admin) for every stage when it started. */
    confirmed: p.boolean().default(false),
    forced: p.boolean().default(false),
    forceReason: p.text().nullable(),
    failureReason: p.text().nullable(),
    /** Chat messages showing this run, so they can be updated in place (survives restarts). */
    messages: p.json<PostedMessage[]>().default('[]'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
  },
});
export type IPipelineExecution = InferEntity<typeof PipelineExecution>;

/** A step of a run: its phase (stage), what it does, where it stands, and what it produced. */
export const PipelineExecutionStep = defineEntity({
  name: 'PipelineExecutionStep',
  tableName: 'pipeline_execution_steps',
  uniques: [{ properties: ['execution', 'phase', 'position'] }],
  indexes: [{ properties: ['deployment'] }],
  properties: {
    id: uuidPrimaryKey(),
    execution: () => p.manyToOne(PipelineExecution).deleteRule('cascade'),
    phase: p.integer(),
    environment: () => p.manyToOne(Environment).nullable().deleteRule('set null'),
    environmentName: p.string().length(255),
    position: p.integer(),
    kind: p.enum(PIPELINE_STEP_KINDS),
    config: p.json<PipelineStepConfig>().default('{}'),
    status: p.enum(PIPELINE_STEP_STATUSES).default('new'),
    /** A deploy step: the deployment it asked for. */
    deployment: () => p.manyToOne(Deployment).nullable().deleteRule('set null'),
    /** A confirmation: who decided. */
    decidedBy: () => p.manyToOne(Member).nullable().deleteRule('set null'),
    decidedByName: p.string().length(255).nullable(),
    /** What happened, for people: a smoke command's output tail, a webhook's answer, why it failed. */
    detail: p.text().nullable(),
    /** Tries of a smoke or webhook step (a worker that died mid-step is retried, up to 3 times). */
    attempts: p.integer().default(0),
    runnerId: p.string().length(100).nullable(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
  },
});
export type IPipelineExecutionStep = InferEntity<typeof PipelineExecutionStep>;
