import type { EntityManager } from '@mikro-orm/postgresql';
import {
  Deployment,
  Environment,
  type IEnvironment,
  type IProject,
  Project,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { isSlipwayError, type SlipwayError } from '../../errors.js';
import type { CommitBehaviour } from '../../vocabulary.js';
import { type Actor, recordAudit } from '../access/index.js';
import type { DeploymentService, KnownCommit } from '../deployments/index.js';
import type { NotificationEmitter } from '../notifications/index.js';
import type { PendingCommits } from './pending-commits.js';
import type { PushedCommit, PushOutcome, PushResult, RepositoryPush } from './repository-events.js';

/** Errors that are our own trouble, not a refusal: the push is answered with an error and retried. */
const NOT_A_REFUSAL = new Set<SlipwayError['code']>(['database_unavailable', 'internal', 'crypto_failed']);

/**
 * Applies a push to the environments that track its branch, each by its commit behaviour:
 *
 * - `create_new_build`: a deployment of the pushed head, asked for by `<host>:<pusher>` through
 *   the same DeploymentService.requestDeploy as a chat `/deploy` (lock, run slot, approvals and
 *   every gate it applies; the push itself confirms a `warn` test gate, a `block` gate refuses a
 *   commit whose tests did not pass); a project's `push_to_deploy` turns `do_nothing` into this;
 * - `update_previous_build`: the environment's deploy still waiting (awaiting approval or queued,
 *   not started) is moved to the new head, else a new one as above;
 * - `do_nothing`: the commits are recorded as pending for a manual build or `/deploy`.
 *
 * A deploy that is refused (locked, busy, stopped, …) is recorded in the audit log and announced
 * in the project's channels (`push.refused`), not lost. Tag pushes deploy nothing (environments
 * track branches); a deleted branch deploys and stops nothing and empties its pending commits; a
 * forced push is a push to its new head (and replaces the pending commits).
 */
export class PushHandler {
  constructor(
    private readonly deps: {
      orm: Orm;
      deployments: DeploymentService;
      pending: PendingCommits;
      notifications: NotificationEmitter;
      /** A waiting deployment was moved to another commit: chat messages showing it are redrawn. */
      onMoved?: (deploymentId: string) => void;
    },
  ) {}

  async apply(push: RepositoryPush): Promise<PushOutcome> {
    const em = this.deps.orm.em.fork();
    const repository = push.repository.toLowerCase();
    const projects = await em.find(Project, { githubRepository: repository }, { orderBy: { name: 'asc' } });
    const outcome: PushOutcome = {
      repository,
      ref: `${push.ref.kind === 'tag' ? 'refs/tags' : 'refs/heads'}/${push.ref.name}`,
      projects: projects.map((project) => project.name),
      results: [],
    };
    if (projects.length === 0) return { ...outcome, note: `No project uses the repository ${repository}.` };
    if (push.ref.kind === 'tag') {
      return {
        ...outcome,
        note: 'A tag push deploys nothing: environments track branches. Deploy a tag with /deploy <project> <environment> <tag>.',
      };
    }
    const actor: Actor = { memberId: null, name: `${push.host}:${push.pusher}`, source: push.host };
    for (const project of projects) {
      const environments = await em.find(
        Environment,
        { project, branch: push.ref.name },
        { orderBy: { name: 'asc' }, populate: ['servers'] },
      );
      for (const environment of environments) {
        outcome.results.push(await this.applyTo(em, actor, project, environment, push));
      }
    }
    if (outcome.results.length === 0) outcome.note = `No environment tracks the branch ${push.ref.name}.`;
    return outcome;
  }

  private async applyTo(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    environment: IEnvironment,
    push: RepositoryPush,
  ): Promise<PushResult> {
    const behaviour: CommitBehaviour =
      environment.commitBehaviour === 'do_nothing' && project.pushToDeploy
        ? 'create_new_build'
        : environment.commitBehaviour;
    const base = { project: project.name, environment: environment.name, behaviour };

    if (push.deleted || !push.head) {
      const dropped = await this.deps.pending.clear(environment);
      await em.fork().transactional(async (tx) => {
        recordAudit(tx, actor, {
          action: 'push.branch_deleted',
          result: 'ok',
          projectId: project.id,
          targetType: 'environment',
          targetId: environment.id,
          details: { branch: push.ref.name, pendingDropped: dropped },
        });
        await tx.flush();
      });
      return {
        ...base,
        outcome: 'skipped',
        reason: `The branch ${push.ref.name} was deleted: nothing was deployed or stopped; what ${environment.name} runs stays.`,
      };
    }
    const head = push.head;

    if (behaviour === 'do_nothing') {
      const pending = await this.deps.pending.record(
        environment,
        { commits: push.commits, head, forced: push.forced },
        actor.name,
      );
      return { ...base, outcome: 'recorded', pending };
    }
    if (environment.state !== 'available') {
      return {
        ...base,
        outcome: 'skipped',
        reason: `${environment.name} is ${environment.state}: pushes deploy to it again once it is started.`,
      };
    }
    const already = await em.fork().findOne(Deployment, {
      environment: environment.id,
      commitHash: head.sha,
      status: { $in: ['awaiting_approval', 'queued', 'running'] },
    });
    if (already) {
      return {
        ...base,
        outcome: 'skipped',
        reason: `Deployment #${already.number} of ${head.sha.slice(0, 7)} is already ${already.status.replace('_', ' ')}.`,
      };
    }

    const commit: KnownCommit = { hash: head.sha, message: head.message, author: head.author };
    try {
      if (behaviour === 'update_previous_build') {
        const waiting = await em.fork().findOne(
          Deployment,
          {
            environment: environment.id,
            kind: 'deploy',
            status: { $in: ['awaiting_approval', 'queued'] },
            startedAt: null,
          },
          { orderBy: { createdAt: 'desc' } },
        );
        const moved = waiting ? await this.deps.deployments.moveToCommit(actor, waiting.id, commit) : null;
        if (moved) {
          this.deps.onMoved?.(moved.id);
          return {
            ...base,
            outcome: 'moved',
            deployment: { id: moved.id, number: moved.number, status: moved.status },
          };
        }
      }
      const deployment = await this.deps.deployments.requestDeploy(actor, {
        project: project.name,
        environment: environment.name,
        ref: push.ref.name,
        commit,
        // A push is its environment's standing confirmation of a `warn` test gate: the team chose
        // to deploy on push, and CI rarely reports before the push arrives. The confirmation is
        // audited as the pusher's; a `block` gate still refuses a commit whose tests did not pass.
        confirm: true,
      });
      return {
        ...base,
        outcome: deployment.status === 'awaiting_approval' ? 'awaiting_approval' : 'deployed',
        deployment: { id: deployment.id, number: deployment.number, status: deployment.status },
      };
    } catch (error) {
      if (!isSlipwayError(error) || NOT_A_REFUSAL.has(error.code)) throw error;
      await this.refused(actor, project, environment, behaviour, push.ref.name, head, error);
      return { ...base, outcome: 'refused', code: error.code, reason: error.message };
    }
  }

  /** Written down and announced in the same transaction: a refused push is never silently lost. */
  private async refused(
    actor: Actor,
    project: IProject,
    environment: IEnvironment,
    behaviour: CommitBehaviour,
    branch: string,
    head: PushedCommit,
    error: SlipwayError,
  ): Promise<void> {
    await this.deps.orm.em.fork().transactional(async (tx) => {
      recordAudit(tx, actor, {
        action: 'push.deploy',
        result: 'refused',
        projectId: project.id,
        targetType: 'environment',
        targetId: environment.id,
        details: { behaviour, branch, commit: head.sha, code: error.code, reason: error.message },
      });
      await tx.flush();
      await this.deps.notifications.emit(tx, {
        type: 'push.refused',
        projectId: project.id,
        project: project.name,
        subject: null,
        data: {
          environment: environment.name,
          behaviour,
          branch,
          commit: head.sha,
          commitMessage: head.message ? head.message.split('\n')[0]!.slice(0, 200) : null,
          commitAuthor: head.author,
          pushedBy: actor.name,
          reason: error.message,
          code: error.code,
        },
      });
    });
  }
}
