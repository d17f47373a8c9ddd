import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import { type IEnvironment, type ILock, Lock } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import { roleAtLeast } from '../../vocabulary.js';
import { type AccessPolicy, type Actor, recordAudit } from '../access/index.js';
import { findEnvironment, findProject } from '../lookup.js';
import type { NotificationEmitter } from '../notifications/index.js';

export interface LockView {
  project: string;
  environment: string;
  holder: string;
  reason: string | null;
  since: Date;
  expiresAt: Date | null;
}

/**
 * Environment locks: a locked environment refuses deploys and promotes by anyone but the holder
 * (DeploymentService checks). One lock per environment (`locks_one_per_environment`); an expired
 * lock counts as no lock and is replaced. Admins may break someone else's lock; that is audited.
 */
export class LockService {
  constructor(
    private readonly orm: Orm,
    private readonly access: AccessPolicy,
    private readonly notifications?: NotificationEmitter,
  ) {}

  async lock(
    actor: Actor,
    input: { project: string; environment: string; reason?: string | null; minutes?: number | null },
  ): Promise<LockView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, input.project);
    const environment = await findEnvironment(em, project, input.environment);
    return withConstraintErrors(() =>
      em.transactional(async (tx) => {
        const current = await this.current(tx, environment);
        if (current && current.holder?.id !== actor.memberId) {
          throw new SlipwayError('environment_locked', describeHeld(environment.name, current));
        }
        if (current) tx.remove(current);
        await tx.nativeDelete(Lock, { environment, expiresAt: { $lte: new Date() } });
        await tx.flush();
        const lock = tx.create(Lock, {
          environment,
          holder: actor.memberId,
          holderName: actor.name,
          reason: input.reason ?? null,
          expiresAt: input.minutes ? new Date(Date.now() + input.minutes * 60_000) : null,
        });
        recordAudit(tx, actor, {
          action: 'lock.create',
          result: 'ok',
          projectId: project.id,
          targetType: 'environment',
          targetId: environment.id,
          details: { reason: input.reason ?? null, minutes: input.minutes ?? null },
        });
        await tx.flush();
        await this.notifications?.emit(tx, {
          type: 'environment.locked',
          projectId: project.id,
          project: project.name,
          subject: null,
          data: {
            environment: environment.name,
            holder: actor.name,
            reason: input.reason ?? null,
            expiresAt: lock.expiresAt?.toISOString() ?? null,
            actor: actor.name,
            broken: false,
          },
        });
        return view(project.name, environment.name, lock);
      }),
    );
  }

  /** The holder unlocks; anyone else needs the admin role, and breaking the lock is recorded. */
  async unlock(
    actor: Actor,
    input: { project: string; environment: string },
  ): Promise<{ broke: LockView | null }> {
    const em = this.orm.em.fork();
    const project = await findProject(em, input.project);
    const environment = await findEnvironment(em, project, input.environment);
    const current = await this.current(em, environment);
    if (!current) throw new SlipwayError('conflict', `${project.name}/${environment.name} is not locked.`);
    const ownLock = !!actor.memberId && current.holder?.id === actor.memberId;
    if (!ownLock) {
      const held = await this.access.roleOf(em, actor.memberId, project);
      if (!held || !roleAtLeast(held, 'admin')) {
        throw new SlipwayError(
          'forbidden',
          `${describeHeld(environment.name, current)} Only ${current.holderName} or an admin can unlock it.`,
        );
      }
    }
    const broken = ownLock ? null : view(project.name, environment.name, current);
    await em.transactional(async (tx) => {
      tx.remove(current);
      recordAudit(tx, actor, {
        action: ownLock ? 'lock.release' : 'lock.break',
        result: 'ok',
        projectId: project.id,
        targetType: 'environment',
        targetId: environment.id,
        details: ownLock ? {} : { holder: current.holderName, reason: current.reason },
      });
      await tx.flush();
      await this.notifications?.emit(tx, {
        type: 'environment.unlocked',
        projectId: project.id,
        project: project.name,
        subject: null,
        data: {
          environment: environment.name,
          holder: current.holderName,
          reason: current.reason ?? null,
          expiresAt: current.expiresAt?.toISOString() ?? null,
          actor: actor.name,
          broken: !ownLock,
        },
      });
    });
    return { broke: broken };
  }

  async current(em: EntityManager, environment: IEnvironment): Promise<ILock | null> {
    return em.findOne(
      Lock,
      { environment, $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] },
      { populate: ['holder'] },
    );
  }
}

function view(project: string, environment: string, lock: ILock): LockView {
  return {
    project,
    environment,
    holder: lock.holderName,
    reason: lock.reason ?? null,
    since: lock.createdAt,
    expiresAt: lock.expiresAt ?? null,
  };
}

function describeHeld(environment: string, lock: ILock): string {
  const since = lock.createdAt.toISOString().replace('T', ' ').slice(0, 16);
  return `${environment} is locked by ${lock.holderName} since ${since} UTC${lock.reason ? `: ${lock.reason}` : ''}.`;
}
