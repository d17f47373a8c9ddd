import type { EntityManager } from '@mikro-orm/postgresql';
import {
  Deployment,
  Environment,
  type IEnvironment,
  type IProject,
  Lock,
  Pipeline,
  PipelineStage,
  PipelineStep,
  type TestGates,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import type { EnvironmentTier, PipelineStepKind } from '../../vocabulary.js';
import { findProject } from '../lookup.js';
import type { PipelineExecutionSnapshot } from '../notifications/index.js';
import { type DeploymentSummary, deploymentSummary } from '../projects/index.js';
import type { CombinedState, CommitStatusService } from '../promotions/index.js';
import type { PipelineExecutions } from './pipeline-executions.js';
import { findPipeline } from './pipeline-service.js';

/** Stages left to right, as a pipeline reads; `other` comes last. */
export const STAGES: EnvironmentTier[] = ['development', 'testing', 'staging', 'production', 'other'];

export interface PipelineEnvironment {
  id: string;
  name: string;
  tier: EnvironmentTier;
  branch: string;
  state: string;
  liveCommit: string | null;
  liveRelease: string | null;
  /** The live commit's combined test status. */
  testStatus: CombinedState | null;
  locked: boolean;
  recentDeployments: DeploymentSummary[];
}

export interface PipelineStageStep {
  type: PipelineStepKind;
  role: string | null;
  users: string[];
  command: string | null;
  /** A webhook's host (its URL may carry a token). */
  host: string | null;
}

export interface PipelineData {
  project: string;
  testGates: TestGates;
  /** The project's pipeline, when it has one: then the stages are its stages, in order. */
  pipeline: { name: string; pipelines: string[]; latest: PipelineExecutionSnapshot | null } | null;
  /** A tier (no pipeline) or a pipeline stage (named after its environment), left to right. */
  stages: { stage: string; environments: PipelineEnvironment[]; steps: PipelineStageStep[] }[];
}

/**
 * The promotion platform's pipeline data: environments by stage with their recent deployments and
 * what is live. With an Escape pipeline, the stages are the pipeline's (its environments in
 * order, with their steps, and its latest run); without one, the tiers.
 */
export class PipelineView {
  constructor(
    private readonly orm: Orm,
    private readonly statuses: CommitStatusService,
    private readonly executions?: PipelineExecutions,
  ) {}

  async pipeline(projectName: string, recentDeployments = 1, pipelineName?: string): Promise<PipelineData> {
    if (!Number.isInteger(recentDeployments) || recentDeployments < 1 || recentDeployments > 10) {
      throw new SlipwayError('invalid_input', 'recentDeployments must be between 1 and 10.', {
        field: 'recentDeployments',
      });
    }
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environments = await em.find(Environment, { project }, { orderBy: { name: 'asc' } });
    const locks = await em.find(Lock, {
      environment: { $in: environments.map((e) => e.id) },
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
    });
    const rows = new Map(
      await Promise.all(
        environments.map(async (environment): Promise<[string, PipelineEnvironment]> => {
          const recent = await em
            .fork()
            .find(
              Deployment,
              { environment: environment.id },
              { orderBy: { createdAt: 'desc' }, limit: recentDeployments },
            );
          return [environment.id, await this.row(project, environment, recent.map(deploymentSummary), locks)];
        }),
      ),
    );
    const base = { project: project.name, testGates: project.testGates };

    const pipelines = await em.find(Pipeline, { project }, { orderBy: { name: 'asc' } });
    const chosen = pipelineName ? await findPipeline(em, project, pipelineName) : pipelines[0];
    if (chosen) {
      return {
        ...base,
        pipeline: {
          name: chosen.name,
          pipelines: pipelines.map((p) => p.name),
          latest: (await this.executions?.latest(project.name, chosen.name)) ?? null,
        },
        stages: await this.stagesOf(em, chosen.id, rows),
      };
    }
    return {
      ...base,
      pipeline: null,
      stages: STAGES.map((stage) => ({
        stage,
        environments: [...rows.values()].filter((row) => row.tier === stage),
        steps: [],
      })).filter((stage) => stage.stage !== 'other' || stage.environments.length > 0),
    };
  }

  private async stagesOf(em: EntityManager, pipelineId: string, rows: Map<string, PipelineEnvironment>) {
    const stages = await em.find(
      PipelineStage,
      { pipeline: pipelineId },
      { populate: ['environment'], orderBy: { position: 'asc' } },
    );
    const steps = await em.find(
      PipelineStep,
      { stage: { $in: stages.map((s) => s.id) } },
      { orderBy: { position: 'asc' } },
    );
    return stages.map((stage) => ({
      stage: stage.environment?.name ?? '(deleted)',
      environments:
        stage.environment && rows.has(stage.environment.id) ? [rows.get(stage.environment.id)!] : [],
      steps: steps
        .filter((step) => step.stage.id === stage.id)
        .map((step) => ({
          type: step.kind,
          role: step.config.role ?? null,
          users: step.config.users ?? [],
          command: step.config.command ?? null,
          host: step.config.url ? (URL.parse(step.config.url)?.host ?? null) : null,
        })),
    }));
  }

  private async row(
    project: IProject,
    environment: IEnvironment,
    recent: DeploymentSummary[],
    locks: { environment: { id: string } }[],
  ): Promise<PipelineEnvironment> {
    // What `current` points at, as stored when it last changed (rollbacks included).
    const liveCommit = environment.liveCommit ?? null;
    return {
      id: environment.id,
      name: environment.name,
      tier: environment.tier,
      branch: environment.branch,
      state: environment.state,
      liveCommit,
      liveRelease: environment.liveRelease ?? null,
      testStatus: liveCommit ? (await this.statuses.of(project, liveCommit)).state : null,
      locked: locks.some((lock) => lock.environment.id === environment.id),
      recentDeployments: recent,
    };
  }
}
