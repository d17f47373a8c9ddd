import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import {
  Approval,
  ApprovalRequest,
  Deployment,
  type DeploymentChanges,
  type IDeployment,
  type IEnvironment,
  type IProject,
  Lock,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { validateRef } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import type { DeploymentQueue } from '../../jobs/deployment-queue.js';
import {
  DEPLOYMENT_NUMBER_PATTERN,
  type DeploymentKind,
  type EnvironmentTier,
  isUuid,
  type TestGateMode,
} from '../../vocabulary.js';
import { type AccessPolicy, type Actor, recordAudit } from '../access/index.js';
import { findEnvironment, findProject } from '../lookup.js';
import { emitDeploymentNotification, type NotificationEmitter } from '../notifications/index.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import type { CommitContext, CommitDetails } from './commit-context.js';
import type { CommitResolver } from './commit-resolver.js';
import type { FreezeWindows } from './freeze-service.js';
import type { RollbackTargets } from './rollback-target.js';

export interface DeployRequest {
  project: string;
  environment: string;
  /** Branch, tag or full sha; the environment's branch when omitted. */
  ref?: string;
  /**
   * The commit `ref` points at, when the caller already knows it (a push names its head commit,
   * message and author): its hash is used as is (the remote is not asked again), and with its
   * message and author git is not read for them.
   */
  commit?: KnownCommit;
  /** The commits shipped, when the caller knows them already (with `commit`, git is not read at all). */
  changes?: DeploymentChanges;
  /** Go on past a `warn` test gate. */
  confirm?: boolean;
  /** Admin-only: skip the test gate, and with `reason` a freeze (recorded on the deployment and audited). */
  force?: boolean;
  /** Why it is forced: needed to deploy during a freeze. */
  reason?: string;
  /** Runs inside the transaction that records the deployment (a pipeline links its step to it). */
  within?: (tx: EntityManager, deployment: IDeployment) => Promise<void>;
}

/** A commit as its repository host (or an earlier deployment) described it. */
export interface KnownCommit {
  /** The full sha, when the caller knows exactly which commit (a push's head). */
  hash?: string;
  message?: string | null;
  author?: string | null;
}

/** The test gate a deploy to a gated tier passes (the promotions' TestGate, handed in). */
export interface DeployGate {
  evaluate(
    project: IProject,
    commit: string,
    tier: EnvironmentTier,
  ): Promise<{ mode: TestGateMode | null; state: string; passed: boolean; message: string }>;
}

export interface PromoteRequest {
  project: string;
  /** The environment whose live commit is promoted. */
  from: string;
  to: string;
  /** Skips the test gates (the caller checked the admin role); recorded on the deployment and audited. */
  force?: boolean;
  /** The commit the caller's gates were checked for: refused if another one is live by now. */
  expectedCommit?: string;
  /** Why it is forced: with `force`, it goes through a freeze of `to`. */
  reason?: string;
  /** Runs inside the transaction that records the deployment. */
  within?: (tx: EntityManager, deployment: IDeployment) => Promise<void>;
}

export interface RollbackRequest {
  project: string;
  environment: string;
  /** A release name, or `#42` for the release deployment 42 built; the one before the live release when omitted. */
  release?: string;
}

export interface DeploymentServiceDeps {
  orm: Orm;
  queue: DeploymentQueue;
  resolver: CommitResolver;
  secrets: SecretBox;
  /** Reads the servers to settle a rollback's target before anything is recorded. */
  rollbackTargets: RollbackTargets;
  /** Commit messages, authors and the commits between what is live and what ships. */
  commits: CommitContext;
  /** Who may force (admins). */
  access: AccessPolicy;
  /** The same test gate promotions pass; without it deploys are not gated. */
  gate?: DeployGate;
  /** Deploy freezes: deploys and promotes wait for them to end, unless an admin forces with a reason. */
  freezes: FreezeWindows;
  notifications?: NotificationEmitter;
}

/**
 * Asking for deployments, rollbacks and cancels. Validation, the lock, the ref's resolution to a
 * commit and the run slot are all settled here, before anything is queued; the work itself is
 * the DeploymentExecutor's, in whichever process takes the job.
 */
export class DeploymentService {
  private readonly orm: Orm;
  private readonly queue: DeploymentQueue;
  private readonly resolver: CommitResolver;
  private readonly secrets: SecretBox;
  private readonly notifications: NotificationEmitter | undefined;

  constructor(private readonly deps: DeploymentServiceDeps) {
    this.orm = deps.orm;
    this.queue = deps.queue;
    this.resolver = deps.resolver;
    this.secrets = deps.secrets;
    this.notifications = deps.notifications;
  }

  async requestDeploy(actor: Actor, request: DeployRequest): Promise<IDeployment> {
    const em = this.orm.em.fork();
    const project = await findProject(em, request.project);
    const environment = await findEnvironment(em, project, request.environment);
    const ref = validateRef(request.ref ?? environment.branch);
    const forced = request.force === true;
    if (forced) await this.deps.access.require(actor, project.name, 'admin', 'force a deploy');
    await this.checkDeployable(em, actor, environment);
    const freeze = await this.checkFrozen(em, environment, 'deploy', request);
    const privateKey = this.secrets.open(project.sshPrivateKey, SECRET_PURPOSE.projectSshKey);
    // A push names its exact head commit: the remote is not asked again what the branch points at.
    const commit = request.commit?.hash
      ? { hash: fullSha(request.commit.hash) }
      : await this.resolver.resolve(project.repository, ref, privateKey);
    const gate = await this.passGate(em, actor, project, environment, commit.hash, ref, request);
    const context = await this.context(
      project,
      environment,
      commit.hash,
      knownDetails(request.commit),
      request.changes,
    );
    const deployment = await this.create(em, actor, project, environment, {
      kind: 'deploy',
      ref,
      commitHash: commit.hash,
      forced,
      forceReason: forced ? (request.reason ?? null) : null,
      within: request.within,
      ...context,
    });
    if (freeze) await this.auditFreezeForced(em, actor, project, environment, deployment, freeze, request);
    if (forced && gate && !gate.passed) {
      recordAudit(em, actor, {
        action: 'deployment.deploy.force',
        result: 'ok',
        projectId: project.id,
        targetType: 'deployment',
        targetId: deployment.id,
        details: { environment: environment.name, commit: commit.hash, gate: gate.mode, tests: gate.state },
      });
      await em.flush();
    }
    return deployment;
  }

  /**
   * Points a deploy that has not started yet (awaiting approval, or queued) at another commit of
   * its branch — a newer push, for `update_previous_build` — through the environment's lock and
   * state like a new deploy. The change is audited, the approvals given so far are withdrawn
   * (they were for the other commit) and the approval window starts again; what it ships is
   * read again. Null when the deployment is no longer waiting (it started, or ended, meanwhile).
   */
  async moveToCommit(actor: Actor, deploymentId: string, commit: KnownCommit): Promise<IDeployment | null> {
    const hash = fullSha(commit.hash ?? '');
    const em = this.orm.em.fork();
    const waitingDeployment = await em.findOne(
      Deployment,
      { id: deploymentId },
      { populate: ['project', 'environment'] },
    );
    // What it ships now, read before the row is locked (git may take a moment).
    const context = waitingDeployment
      ? await this.context(
          waitingDeployment.project,
          waitingDeployment.environment,
          hash,
          knownDetails(commit),
        )
      : null;
    return em.transactional(async (tx) => {
      // The row lock orders this against the executor's claim (queued → running) and approvals.
      const deployment = await tx.findOne(
        Deployment,
        { id: deploymentId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const waiting =
        deployment?.kind === 'deploy' &&
        !deployment.startedAt &&
        (deployment.status === 'awaiting_approval' || deployment.status === 'queued');
      if (!deployment || !waiting) return null;
      await tx.populate(deployment, ['project', 'environment', 'environment.servers']);
      await this.checkDeployable(tx, actor, deployment.environment);
      const from = deployment.commitHash ?? null;
      deployment.commitHash = hash;
      deployment.commitMessage = context?.commitMessage ?? commit.message ?? null;
      deployment.commitAuthor = context?.commitAuthor ?? commit.author ?? null;
      deployment.changes = context?.changes ?? null;
      let approvalsWithdrawn = 0;
      if (deployment.status === 'awaiting_approval') {
        const request = await tx.findOne(
          ApprovalRequest,
          { deployment, status: 'pending' },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (request) {
          approvalsWithdrawn = await tx.nativeDelete(Approval, { request });
          request.expiresAt = new Date(Date.now() + deployment.environment.approvalTtlMinutes * 60_000);
        }
      }
      recordAudit(tx, actor, {
        action: 'deployment.commit.update',
        result: 'ok',
        projectId: deployment.project.id,
        targetType: 'deployment',
        targetId: deployment.id,
        details: { environment: deployment.environment.name, from, to: hash, approvalsWithdrawn },
      });
      await tx.flush();
      await emitDeploymentNotification(
        this.notifications,
        tx,
        deployment.status === 'awaiting_approval' ? 'approval.requested' : 'deployment.queued',
        deployment.id,
        actor.name,
      );
      return deployment;
    });
  }

  /**
   * Deploys to `to` exactly the commit live on `from` (its stored live state: what `current`
   * points at, rollbacks included). Goes through `to`'s lock, run slot and approval policy.
   */
  async requestPromote(actor: Actor, request: PromoteRequest): Promise<IDeployment> {
    const em = this.orm.em.fork();
    const project = await findProject(em, request.project);
    const source = await findEnvironment(em, project, request.from);
    const target = await findEnvironment(em, project, request.to);
    if (source.id === target.id) {
      throw new SlipwayError(
        'invalid_input',
        `Promote from one environment to another: both are ${source.name}.`,
      );
    }
    const live = source.liveCommit ?? null;
    if (!live) {
      throw new SlipwayError(
        'conflict',
        `Nothing is live on ${source.name} yet: deploy it first, then promote.`,
      );
    }
    if (request.expectedCommit && request.expectedCommit !== live) {
      // The gates were passed for another commit: a deploy to the source finished meanwhile.
      throw new SlipwayError(
        'conflict',
        `${source.name} changed while you promoted (${request.expectedCommit.slice(0, 8)} → ${live.slice(0, 8)}): promote again.`,
      );
    }
    await this.checkDeployable(em, actor, target);
    const freeze = await this.checkFrozen(em, target, 'promote', request);
    // The source's live deployment knows the commit's message; the range is against the target.
    if (source.liveDeployment) await em.populate(source, ['liveDeployment']);
    const built = source.liveDeployment;
    const known =
      built?.commitMessage && built.commitAuthor && built.commitHash === live
        ? { message: built.commitMessage, author: built.commitAuthor }
        : undefined;
    const context = await this.context(project, target, live, known);
    const deployment = await this.create(em, actor, project, target, {
      kind: 'promote',
      ref: live,
      commitHash: live,
      ...context,
      promotedFrom: source,
      forced: request.force === true,
      forceReason: request.force ? (request.reason ?? null) : null,
      within: request.within,
    });
    if (freeze) await this.auditFreezeForced(em, actor, project, target, deployment, freeze, request);
    return deployment;
  }

  /**
   * Moves a deployment whose approvals are complete from awaiting_approval to queued and sends
   * its job, inside the caller's transaction (the approval and the job commit together).
   */
  async enqueueApproved(tx: EntityManager, deploymentId: string): Promise<void> {
    const moved = await tx.nativeUpdate(
      Deployment,
      { id: deploymentId, status: 'awaiting_approval' },
      { status: 'queued', queuedAt: new Date() },
    );
    if (moved) await this.queue.enqueue(deploymentId, tx);
  }

  /**
   * Points `current` back: to the release before the live one, or to a named one. The target is
   * settled on the servers first, so a rollback that cannot work is refused at once (naming the
   * releases that exist) and nothing is recorded; the rollback then switches to exactly it.
   */
  async requestRollback(actor: Actor, request: RollbackRequest): Promise<IDeployment> {
    const em = this.orm.em.fork();
    const project = await findProject(em, request.project);
    const environment = await findEnvironment(em, project, request.environment);
    await this.checkDeployable(em, actor, environment);
    const target = await this.deps.rollbackTargets.settle(em, project, environment, request.release);
    const changes = target.commit
      ? await this.deps.commits.changes(project, environment.liveCommit ?? null, target.commit)
      : null;
    return this.create(em, actor, project, environment, {
      changes,
      kind: 'rollback',
      ref: request.release ? target.release : 'previous release',
      commitHash: target.commit ?? undefined,
      commitMessage: target.commitMessage,
      commitAuthor: target.commitAuthor,
      targetRelease: target.release,
      // A rollback switches between releases already on the servers: nothing to approve.
      skipApproval: true,
    });
  }

  /**
   * A queued or waiting deployment is cancelled at once; a running one is asked to stop, which
   * the process running it sees within a second and honours if activation has not begun.
   */
  async cancel(actor: Actor, deploymentId: string): Promise<IDeployment> {
    const em = this.orm.em.fork();
    return em.transactional(async (tx) => {
      const deployment = await findDeployment(tx, deploymentId);
      const label = `Deployment #${deployment.number}`;
      if (deployment.status === 'queued' || deployment.status === 'awaiting_approval') {
        deployment.status = 'cancelled';
        deployment.finishedAt = new Date();
        deployment.cancelRequestedAt = new Date();
        deployment.cancelRequestedBy = actor.name;
        await tx.nativeUpdate(
          ApprovalRequest,
          { deployment, status: 'pending' },
          { status: 'cancelled', closedAt: new Date() },
        );
        await tx.flush();
        await emitDeploymentNotification(
          this.notifications,
          tx,
          'deployment.cancelled',
          deployment.id,
          actor.name,
        );
      } else if (deployment.status === 'running') {
        if (deployment.cancelRequestedAt) {
          throw new SlipwayError(
            'conflict',
            `${label} is already being cancelled (asked by ${deployment.cancelRequestedBy}).`,
          );
        }
        deployment.cancelRequestedAt = new Date();
        deployment.cancelRequestedBy = actor.name;
      } else {
        throw new SlipwayError(
          'conflict',
          `${label} is ${deployment.status.replace('_', ' ')}; only a queued or running deployment can be cancelled.`,
        );
      }
      recordAudit(tx, actor, {
        action: 'deployment.cancel',
        result: 'ok',
        projectId: deployment.project.id,
        targetType: 'deployment',
        targetId: deployment.id,
      });
      return deployment;
    });
  }

  async get(deploymentId: string): Promise<IDeployment> {
    return findDeployment(this.orm.em.fork(), deploymentId);
  }

  /**
   * During a freeze deploys and promotes are refused, saying when it ends; an admin's `force`
   * with a reason goes through (the caller checked the role), and the freeze it broke is returned
   * for the audit log.
   */
  private async checkFrozen(
    em: EntityManager,
    environment: IEnvironment,
    kind: 'deploy' | 'promote',
    request: { force?: boolean; reason?: string },
  ) {
    const freeze = await this.deps.freezes.inForce(em, environment);
    if (!freeze) return null;
    const frozen = `${environment.name} is frozen until ${utc(freeze.until)}${freeze.reason ? `: ${freeze.reason}` : ''}.`;
    if (!request.force) {
      throw new SlipwayError('refused', `${frozen} An admin may force a ${kind} with a reason.`, {
        frozen: true,
        until: freeze.until.toISOString(),
      });
    }
    if (!request.reason?.trim()) {
      throw new SlipwayError('refused', `${frozen} To force a ${kind} through the freeze, give a reason.`, {
        field: 'reason',
        frozen: true,
      });
    }
    return freeze;
  }

  private async auditFreezeForced(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    environment: IEnvironment,
    deployment: IDeployment,
    freeze: { until: Date; reason: string | null },
    request: { reason?: string },
  ): Promise<void> {
    recordAudit(em, actor, {
      action: `deployment.${deployment.kind}.freeze_forced`,
      result: 'ok',
      projectId: project.id,
      targetType: 'deployment',
      targetId: deployment.id,
      details: {
        environment: environment.name,
        until: freeze.until.toISOString(),
        freeze: freeze.reason,
        reason: request.reason ?? null,
      },
    });
    await em.flush();
  }

  /**
   * A deploy to a gated tier (staging, production) passes the test gate promotions pass: `block`
   * refuses a commit whose tests did not pass, `warn` needs `confirm`; an admin's `force` goes
   * past it (audited by the caller). Refusals are audited and say what to type next (`details`).
   */
  private async passGate(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    environment: IEnvironment,
    commit: string,
    ref: string,
    request: { confirm?: boolean; force?: boolean },
  ) {
    if (!this.deps.gate) return null;
    const verdict = await this.deps.gate.evaluate(project, commit, environment.tier);
    if (verdict.passed || request.force) return verdict;
    const audit = (action: string, result: 'ok' | 'refused') => {
      recordAudit(em, actor, {
        action,
        result,
        projectId: project.id,
        targetType: 'environment',
        targetId: environment.id,
        details: { environment: environment.name, commit, gate: verdict.mode, tests: verdict.state },
      });
      return em.flush();
    };
    if (verdict.mode === 'block' || !request.confirm) {
      await audit('deployment.deploy.test_gate', 'refused');
      throw new SlipwayError('refused', verdict.message.replace('confirm to promote', 'confirm to deploy'), {
        field: verdict.mode === 'warn' ? 'confirm' : 'force',
        gate: verdict.mode,
        ref,
      });
    }
    await audit('deployment.deploy.test_gate_confirmed', 'ok');
    return verdict;
  }

  /** The commit's message and author, and what it changes over what is live on `environment`. */
  private async context(
    project: IProject,
    environment: IEnvironment,
    sha: string,
    known?: CommitDetails,
    knownChanges?: DeploymentChanges,
  ): Promise<{
    commitMessage: string | null;
    commitAuthor: string | null;
    changes: DeploymentChanges | null;
  }> {
    const [details, changes] = await Promise.all([
      known ? Promise.resolve(known) : this.deps.commits.details(project, sha),
      knownChanges
        ? Promise.resolve(knownChanges)
        : this.deps.commits.changes(project, environment.liveCommit ?? null, sha),
    ]);
    return {
      commitMessage: details?.message ?? null,
      commitAuthor: details?.author.slice(0, 255) ?? null,
      changes,
    };
  }

  private async checkDeployable(em: EntityManager, actor: Actor, environment: IEnvironment): Promise<void> {
    if (environment.state !== 'available') {
      throw new SlipwayError(
        'conflict',
        `${environment.name} is ${environment.state}; start it again before deploying to it.`,
      );
    }
    if (environment.servers.length === 0) {
      throw new SlipwayError(
        'invalid_input',
        `${environment.name} has no servers to deploy to; add one first.`,
      );
    }
    const lock = await em.findOne(Lock, {
      environment,
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
    });
    if (lock && (!actor.memberId || lock.holder?.id !== actor.memberId)) {
      const since = lock.createdAt.toISOString().replace('T', ' ').slice(0, 16);
      throw new SlipwayError(
        'environment_locked',
        `${environment.name} is locked by ${lock.holderName} since ${since} UTC${lock.reason ? `: ${lock.reason}` : ''}.`,
      );
    }
  }

  private async create(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    environment: IEnvironment,
    input: {
      kind: DeploymentKind;
      ref: string;
      commitHash?: string;
      commitMessage?: string | null;
      commitAuthor?: string | null;
      changes?: DeploymentChanges | null;
      targetRelease?: string | null;
      skipApproval?: boolean;
      promotedFrom?: IEnvironment;
      forced?: boolean;
      forceReason?: string | null;
      within?: (tx: EntityManager, deployment: IDeployment) => Promise<void>;
    },
  ): Promise<IDeployment> {
    const needsApproval = !input.skipApproval && environment.approvalsRequired > 0;
    const active = await em.findOne(Deployment, { environment, status: { $in: ['queued', 'running'] } });
    const busy = active
      ? `${environment.name} is busy: deployment #${active.number} (${active.ref}, by ${active.requestedByName}) is ${active.status}. Try again when it ends, or cancel it.`
      : `${environment.name} is busy with another deployment. Try again when it ends.`;
    if (active && !needsApproval) throw new SlipwayError('environment_busy', busy);

    return withConstraintErrors(
      () =>
        em.transactional(async (tx) => {
          const deployment = tx.create(Deployment, {
            project,
            environment,
            kind: input.kind,
            status: needsApproval ? 'awaiting_approval' : 'queued',
            ref: input.ref,
            commitHash: input.commitHash ?? null,
            commitMessage: input.commitMessage ?? null,
            commitAuthor: input.commitAuthor ?? null,
            changes: input.changes ?? null,
            targetRelease: input.targetRelease ?? null,
            promotedFrom: input.promotedFrom ?? null,
            forced: input.forced ?? false,
            forceReason: input.forceReason?.slice(0, 500) ?? null,
            requestedBy: actor.memberId,
            requestedByName: actor.name,
            source: actor.source,
            queuedAt: needsApproval ? null : new Date(),
          });
          if (needsApproval) {
            tx.create(ApprovalRequest, {
              deployment,
              requiredCount: environment.approvalsRequired,
              approverRole: environment.approverRole,
              expiresAt: new Date(Date.now() + environment.approvalTtlMinutes * 60_000),
            });
          }
          recordAudit(tx, actor, {
            action: `deployment.${input.kind}.request`,
            result: 'ok',
            projectId: project.id,
            targetType: 'deployment',
            targetId: deployment.id,
            details: {
              environment: environment.name,
              ref: input.ref,
              commit: input.commitHash ?? null,
              ...(input.forced ? { forced: true } : {}),
            },
          });
          await tx.flush();
          if (!needsApproval) await this.queue.enqueue(deployment.id, tx);
          await emitDeploymentNotification(
            this.notifications,
            tx,
            needsApproval ? 'approval.requested' : 'deployment.queued',
            deployment.id,
            actor.name,
          );
          await input.within?.(tx, deployment);
          return deployment;
        }),
      { deployments_one_active_per_environment: busy },
    );
  }
}

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The message and author a caller gave, when it gave both (else git is read for them). */
function knownDetails(commit: KnownCommit | undefined): CommitDetails | undefined {
  return commit?.message && commit.author ? { message: commit.message, author: commit.author } : undefined;
}

function fullSha(hash: string): string {
  const sha = hash.toLowerCase();
  if (!FULL_SHA.test(sha)) {
    throw new SlipwayError('invalid_input', `"${hash.slice(0, 80)}" is not a full commit sha.`, {
      field: 'commit',
    });
  }
  return sha;
}

export async function findDeployment(em: EntityManager, idOrNumber: string): Promise<IDeployment> {
  const where = DEPLOYMENT_NUMBER_PATTERN.test(idOrNumber)
    ? { number: Number(idOrNumber) }
    : isUuid(idOrNumber)
      ? { id: idOrNumber }
      : undefined;
  const deployment = where
    ? await em.findOne(Deployment, where, { populate: ['project', 'environment'] })
    : null;
  if (!deployment) throw new SlipwayError('not_found', `There is no deployment ${idOrNumber}.`);
  return deployment;
}

function utc(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}
