import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import { FreezeWindow, type IEnvironment, type IFreezeWindow } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import { type Actor, recordAudit } from '../access/index.js';
import { findEnvironmentByKey, findProject, isUuid } from '../lookup.js';
import {
  type ActiveFreeze,
  activeFreeze,
  checkFreezeWindow,
  type FreezeWindowSpec,
  nextFreeze,
} from './freeze-windows.js';

export interface FreezeWindowInput {
  cronStart?: string | null;
  cronEnd?: string | null;
  durationMinutes?: number | null;
  timezone?: string | null;
  startsAt?: Date | null;
  endsAt?: Date | null;
  reason?: string | null;
}

export interface FreezeWindowView extends FreezeWindowSpec {
  id: string;
  environment: string;
  createdBy: string;
  createdAt: Date;
}

export interface FreezeStatus {
  /** In force now: until when, and why. */
  active: ActiveFreeze | null;
  /** The next one to start. */
  next: { at: Date; reason: string | null } | null;
}

const WINDOW_CHECKS = {
  freeze_windows_one_kind: 'A freeze window is recurring or a date range, not both.',
  freeze_windows_one_end: 'A recurring freeze needs freeze_end or duration_minutes, one of them.',
  freeze_windows_range: 'ends_at must come after starts_at.',
};

/** An environment's deploy freezes: kept here, read by every deploy and promote. */
export class FreezeWindows {
  constructor(private readonly orm: Orm) {}

  async list(projectName: string, environmentKey: string): Promise<FreezeWindowView[]> {
    const em = this.orm.em.fork();
    const environment = await findEnvironmentByKey(em, await findProject(em, projectName), environmentKey);
    const rows = await em.find(FreezeWindow, { environment }, { orderBy: { createdAt: 'asc' } });
    return rows.map((row) => view(row, environment.name));
  }

  async add(
    actor: Actor,
    projectName: string,
    environmentKey: string,
    input: FreezeWindowInput,
  ): Promise<FreezeWindowView> {
    const spec = checkFreezeWindow(input);
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, environmentKey);
    const row = em.create(FreezeWindow, { environment, ...spec, createdByName: actor.name });
    recordAudit(em, actor, {
      action: 'environment.freeze_window.create',
      result: 'ok',
      projectId: project.id,
      targetType: 'environment',
      targetId: environment.id,
      details: { window: row.id, reason: spec.reason },
    });
    await withConstraintErrors(() => em.flush(), WINDOW_CHECKS);
    return view(row, environment.name);
  }

  async remove(actor: Actor, projectName: string, environmentKey: string, id: string): Promise<void> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, environmentKey);
    const row = isUuid(id) ? await em.findOne(FreezeWindow, { id, environment }) : null;
    if (!row) throw new SlipwayError('not_found', `${environment.name} has no freeze window ${id}.`);
    em.remove(row);
    recordAudit(em, actor, {
      action: 'environment.freeze_window.delete',
      result: 'ok',
      projectId: project.id,
      targetType: 'environment',
      targetId: environment.id,
      details: { window: id },
    });
    await em.flush();
  }

  /** Makes the environment's windows exactly `inputs` (`slipway apply`), in one transaction. */
  async replace(
    actor: Actor,
    projectName: string,
    environmentKey: string,
    inputs: readonly FreezeWindowInput[],
  ): Promise<void> {
    const specs = inputs.map((input) => checkFreezeWindow(input));
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const environment = await findEnvironmentByKey(em, project, environmentKey);
    await withConstraintErrors(
      () =>
        em.transactional(async (tx) => {
          await tx.nativeDelete(FreezeWindow, { environment: environment.id });
          for (const spec of specs)
            tx.create(FreezeWindow, { environment, ...spec, createdByName: actor.name });
          recordAudit(tx, actor, {
            action: 'environment.freeze_window.replace',
            result: 'ok',
            projectId: project.id,
            targetType: 'environment',
            targetId: environment.id,
            details: { count: specs.length },
          });
        }),
      WINDOW_CHECKS,
    );
  }

  /** Each environment's freeze now and the next one (environments without windows are left out). */
  async statusOf(environmentIds: readonly string[], now = new Date()): Promise<Map<string, FreezeStatus>> {
    const rows = environmentIds.length
      ? await this.orm.em.fork().find(FreezeWindow, { environment: { $in: [...environmentIds] } })
      : [];
    const byEnvironment = new Map<string, FreezeWindowSpec[]>();
    for (const row of rows) {
      const list = byEnvironment.get(row.environment.id) ?? [];
      list.push(spec(row));
      byEnvironment.set(row.environment.id, list);
    }
    const status = new Map<string, FreezeStatus>();
    for (const [id, windows] of byEnvironment) {
      status.set(id, { active: activeFreeze(windows, now), next: nextFreeze(windows, now) });
    }
    return status;
  }

  /** The freeze in force on the environment now, read on the caller's entity manager. */
  async inForce(
    em: EntityManager,
    environment: IEnvironment,
    now = new Date(),
  ): Promise<ActiveFreeze | null> {
    const rows = await em.find(FreezeWindow, { environment: environment.id });
    return activeFreeze(rows.map(spec), now);
  }
}

function spec(row: IFreezeWindow): FreezeWindowSpec {
  return {
    cronStart: row.cronStart ?? null,
    cronEnd: row.cronEnd ?? null,
    durationMinutes: row.durationMinutes ?? null,
    timezone: row.timezone,
    startsAt: row.startsAt ?? null,
    endsAt: row.endsAt ?? null,
    reason: row.reason ?? null,
  };
}

function view(row: IFreezeWindow, environment: string): FreezeWindowView {
  return { id: row.id, environment, ...spec(row), createdBy: row.createdByName, createdAt: row.createdAt };
}
