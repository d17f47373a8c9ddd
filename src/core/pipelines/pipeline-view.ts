import { Deployment, Environment, Lock, type TestGates } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import type { EnvironmentTier } from '../../vocabulary.js';
import { findProject } from '../lookup.js';
import { type DeploymentSummary, deploymentSummary } from '../projects/index.js';
import type { CombinedState, CommitStatusService } from '../promotions/index.js';

/** Stages left to right, as a pipeline reads; `other` comes last. */
export const STAGES: EnvironmentTier[] = ['development', 'testing', 'staging', 'production', 'other'];

export interface PipelineEnvironment {
  id: string;
  name: string;
  branch: string;
  state: string;
  liveCommit: string | null;
  liveRelease: string | null;
  /** The live commit's combined test status. */
  testStatus: CombinedState | null;
  locked: boolean;
  recentDeployments: DeploymentSummary[];
}

export interface PipelineData {
  project: string;
  testGates: TestGates;
  stages: { stage: EnvironmentTier; environments: PipelineEnvironment[] }[];
}

/** The promotion platform's pipeline data: environments by stage with their recent deployments. */
export class PipelineView {
  constructor(
    private readonly orm: Orm,
    private readonly statuses: CommitStatusService,
  ) {}

  async pipeline(projectName: string, recentDeployments = 1): Promise<PipelineData> {
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
    const rows = await Promise.all(
      environments.map(async (environment): Promise<[EnvironmentTier, PipelineEnvironment]> => {
        const recent = await em
          .fork()
          .find(
            Deployment,
            { environment: environment.id },
            { orderBy: { createdAt: 'desc' }, limit: recentDeployments },
          );
        // What `current` points at, as stored when it last changed (rollbacks included).
        const liveCommit = environment.liveCommit ?? null;
        return [
          environment.tier,
          {
            id: environment.id,
            name: environment.name,
            branch: environment.branch,
            state: environment.state,
            liveCommit,
            liveRelease: environment.liveRelease ?? null,
            testStatus: liveCommit ? (await this.statuses.of(project, liveCommit)).state : null,
            locked: locks.some((lock) => lock.environment.id === environment.id),
            recentDeployments: recent.map(deploymentSummary),
          },
        ];
      }),
    );
    return {
      project: project.name,
      testGates: project.testGates,
      stages: STAGES.map((stage) => ({
        stage,
        environments: rows.filter(([tier]) => tier === stage).map(([, row]) => row),
      })).filter((stage) => stage.stage !== 'other' || stage.environments.length > 0),
    };
  }
}
