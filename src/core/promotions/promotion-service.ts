import type { EntityManager } from '@mikro-orm/postgresql';
import { Environment, type IDeployment, type IEnvironment, type IProject } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import type { EnvironmentTier } from '../../vocabulary.js';
import { type AccessPolicy, type Actor, recordAudit } from '../access/index.js';
import type { CommitResolver, DeploymentService } from '../deployments/index.js';
import { findEnvironment, findEnvironmentByKey, findProject } from '../lookup.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import type { GateVerdict, TestGate } from './test-gate.js';

const STAGE_ORDER: EnvironmentTier[] = ['development', 'testing', 'staging', 'production'];

export interface PromoteInput {
  targetStage: EnvironmentTier;
  /** The target environment's name, when several environments sit at that stage. */
  target?: string;
  /** Admin-only: skip the test gate (recorded). */
  forcePromote?: boolean;
  /** Go on past a `warn` test gate. */
  confirm?: boolean;
  /** Why it is forced: with `forcePromote`, it goes through a freeze of the target. */
  reason?: string;
}

export interface PromotionOutcome {
  deployment: IDeployment;
  direction: 'promote' | 'demote' | 'lateral';
  from: string;
  to: string;
  gate: GateVerdict;
  forced: boolean;
}

/**
 * The promotion platform's promote/demote and manual build, on Slipway's deployments: promoting
 * `source` to a stage deploys the commit live on `source` to the environment at that stage,
 * through the test gate, the target's lock, run slot and approval policy.
 */
export class PromotionService {
  constructor(
    private readonly orm: Orm,
    private readonly deployments: DeploymentService,
    private readonly access: AccessPolicy,
    private readonly gate: TestGate,
    private readonly resolver: CommitResolver,
    private readonly secrets: SecretBox,
  ) {}

  /** The promotion platform's promote/demote: to the environment at `targetStage` (or `target`). */
  async promote(
    actor: Actor,
    projectName: string,
    sourceKey: string,
    input: PromoteInput,
  ): Promise<PromotionOutcome> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const source = await findEnvironmentByKey(em, project, sourceKey);
    const target = await this.targetAt(em, project, source, input);
    return this.promoteTo(em, actor, project, source, target, input);
  }

  /** Chat's `/promote <project> <from-env> <to-env>`: the same gates, between named environments. */
  async promoteBetween(
    actor: Actor,
    projectName: string,
    from: string,
    to: string,
    input: { forcePromote?: boolean; confirm?: boolean; reason?: string } = {},
  ): Promise<PromotionOutcome> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const source = await findEnvironment(em, project, from);
    const target = await findEnvironment(em, project, to);
    if (source.id === target.id) {
      throw new SlipwayError(
        'invalid_input',
        `Promote from one environment to another: both are ${source.name}.`,
      );
    }
    return this.promoteTo(em, actor, project, source, target, input);
  }

  /**
   * Every promotion, whichever way it was asked for: the commit live on `source` goes to
   * `target` through the test gate (block refuses, warn needs `confirm`, an admin's force skips
   * it and is audited), then the target's lock, run slot and approval policy.
   */
  private async promoteTo(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    source: IEnvironment,
    target: IEnvironment,
    input: { forcePromote?: boolean; confirm?: boolean; reason?: string },
  ): Promise<PromotionOutcome> {
    if (input.forcePromote) await this.access.require(actor, project.name, 'admin', 'force a promotion');
    const live = source.liveCommit ?? null;
    if (!live) {
      throw new SlipwayError(
        'refused',
        `Nothing is live on ${source.name} yet: deploy it first, then promote.`,
      );
    }
    const gate = await this.gate.evaluate(project, live, target.tier);
    const audit = (action: string, result: 'ok' | 'refused') => {
      recordAudit(em, actor, {
        action,
        result,
        projectId: project.id,
        targetType: 'environment',
        targetId: target.id,
        details: { from: source.name, to: target.name, commit: live, gate: gate.mode, tests: gate.state },
      });
      return em.flush();
    };
    if (!gate.passed && !input.forcePromote) {
      if (gate.mode === 'block' || !input.confirm) {
        await audit('deployment.promote.test_gate', 'refused');
        throw new SlipwayError('refused', gate.message, {
          field: gate.mode === 'warn' ? 'confirm' : 'forcePromote',
          gate: gate.mode,
        });
      }
      await audit('deployment.promote.test_gate_confirmed', 'ok');
    }
    const forced = !!input.forcePromote;
    const deployment = await this.deployments.requestPromote(actor, {
      project: project.name,
      from: source.name,
      to: target.name,
      force: forced,
      expectedCommit: live,
      ...(input.reason ? { reason: input.reason } : {}),
    });
    if (forced) await audit('deployment.promote.force', 'ok');
    return {
      deployment,
      direction: direction(source.tier, target.tier),
      from: source.name,
      to: target.name,
      gate,
      forced,
    };
  }

  /**
   * The promotion platform's manual build, for environments whose commit behaviour is
   * `do_nothing`: deploys the head of the environment's branch, if it is not live already.
   */
  async manualBuild(
    actor: Actor,
    projectName: string,
    environmentKey: string,
    gate: { confirm?: boolean; force?: boolean } = {},
  ): Promise<IDeployment> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, environmentKey);
    if (environment.commitBehaviour !== 'do_nothing') {
      throw new SlipwayError(
        'refused',
        `${environment.name} builds new commits by itself (${environment.commitBehaviour}); a manual build is for do_nothing environments.`,
      );
    }
    const head = await this.resolver.resolve(
      project.repository,
      environment.branch,
      this.secrets.open(project.sshPrivateKey, SECRET_PURPOSE.projectSshKey),
    );
    const live = environment.liveCommit ?? null;
    if (live === head.hash) {
      throw new SlipwayError(
        'refused',
        `Nothing to build: ${head.hash.slice(0, 8)}, the head of ${environment.branch}, is already live on ${environment.name}.`,
      );
    }
    // A build is a deploy: it passes the environment's test gate like one.
    return this.deployments.requestDeploy(actor, {
      project: project.name,
      environment: environment.name,
      ref: environment.branch,
      ...gate,
    });
  }

  private async targetAt(
    em: EntityManager,
    project: IProject,
    source: IEnvironment,
    input: PromoteInput,
  ): Promise<IEnvironment> {
    // A stopped environment takes no deployments, so it is never the implicit target.
    const candidates = (
      await em.find(Environment, { project, tier: input.targetStage }, { orderBy: { name: 'asc' } })
    ).filter(
      (environment) =>
        environment.id !== source.id &&
        (environment.state === 'available' || environment.name === input.target),
    );
    if (input.target !== undefined) {
      const chosen = candidates.find((environment) => environment.name === input.target);
      if (!chosen) {
        throw new SlipwayError(
          'invalid_input',
          `${project.name} has no ${input.targetStage} environment "${input.target}" other than ${source.name}.`,
          { field: 'target' },
        );
      }
      return findEnvironmentByKey(em, project, chosen.id);
    }
    if (candidates.length === 0) {
      throw new SlipwayError(
        'refused',
        `${project.name} has no other environment at the ${input.targetStage} stage.`,
      );
    }
    if (candidates.length > 1) {
      throw new SlipwayError(
        'invalid_input',
        `${project.name} has several ${input.targetStage} environments (${candidates.map((c) => c.name).join(', ')}): say which with target.`,
        { field: 'target' },
      );
    }
    return findEnvironmentByKey(em, project, candidates[0]!.id);
  }
}

function direction(from: EnvironmentTier, to: EnvironmentTier): 'promote' | 'demote' | 'lateral' {
  const a = STAGE_ORDER.indexOf(from);
  const b = STAGE_ORDER.indexOf(to);
  if (a === -1 || b === -1 || a === b) return 'lateral';
  return b > a ? 'promote' : 'demote';
}
