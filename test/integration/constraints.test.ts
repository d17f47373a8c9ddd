import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withConstraintErrors } from '../../src/db/constraint-errors.js';
import {
  Approval,
  ApprovalRequest,
  Deployment,
  Environment,
  Heartbeat,
  Lock,
  Project,
} from '../../src/db/entities/index.js';
import type { Orm } from '../../src/db/orm.js';
import { SlipwayError } from '../../src/errors.js';
import type { DeploymentStatus } from '../../src/vocabulary.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';
import { seedProject } from '../support/fixtures.js';

describe('rules the database holds', () => {
  let database: TestDatabase;
  let orm: Orm;
  const em = () => orm.em.fork() as EntityManager;

  beforeAll(async () => {
    database = await createTestDatabase();
    orm = await openTestOrm(database);
  });
  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
  });

  const deployment = (
    emx: EntityManager,
    seed: Awaited<ReturnType<typeof seedProject>>,
    status: DeploymentStatus,
  ) =>
    emx.create(Deployment, {
      project: seed.project,
      environment: seed.environment,
      status,
      ref: 'main',
      requestedByName: 'Ada',
      source: 'test',
    });

  it('refuses a second active deployment for one environment, as a typed domain error', async () => {
    const seed = await seedProject(em());
    const first = em();
    deployment(first, seed, 'running');
    await first.flush();

    const second = em();
    deployment(second, seed, 'queued');
    const attempt = withConstraintErrors(() => second.flush());
    await expect(attempt).rejects.toBeInstanceOf(SlipwayError);
    await expect(attempt).rejects.toMatchObject({ code: 'environment_busy' });

    const rows = await database.query(
      "select count(*)::int as n from deployments where status in ('queued','running')",
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('lets finished deployments pile up beside the active one', async () => {
    const seed = await seedProject(em());
    const work = em();
    deployment(work, seed, 'running');
    deployment(work, seed, 'finished');
    deployment(work, seed, 'failed');
    deployment(work, seed, 'awaiting_approval');
    await expect(work.flush()).resolves.toBeUndefined();
  });

  it('counts one approval per person per request', async () => {
    const seed = await seedProject(em());
    const setup = em();
    const request = setup.create(ApprovalRequest, {
      deployment: deployment(setup, seed, 'awaiting_approval'),
      requiredCount: 2,
      expiresAt: new Date(Date.now() + 60_000),
    });
    setup.create(Approval, { request, member: seed.member, memberName: 'Ada', decision: 'approve' });
    await setup.flush();

    const again = em();
    again.create(Approval, {
      request: request.id,
      member: seed.member.id,
      memberName: 'Ada',
      decision: 'approve',
    });
    await expect(withConstraintErrors(() => again.flush())).rejects.toMatchObject({
      code: 'duplicate_approval',
    });
  });

  it('holds one lock per environment', async () => {
    const seed = await seedProject(em());
    const first = em();
    first.create(Lock, { environment: seed.environment.id, holderName: 'Ada', reason: 'release freeze' });
    await first.flush();
    const second = em();
    second.create(Lock, { environment: seed.environment.id, holderName: 'Bob' });
    await expect(
      withConstraintErrors(() => second.flush(), { locks_one_per_environment: 'staging is locked by Ada' }),
    ).rejects.toMatchObject({ code: 'environment_locked', message: 'staging is locked by Ada' });
  });

  it('keeps heartbeat tokens unique and environment names unique per project', async () => {
    const seed = await seedProject(em());
    const heartbeats = em();
    heartbeats.create(Heartbeat, {
      project: seed.project.id,
      name: 'a',
      token: 'same-token',
      intervalMinutes: 10,
    });
    heartbeats.create(Heartbeat, {
      project: seed.project.id,
      name: 'b',
      token: 'same-token',
      intervalMinutes: 10,
    });
    await expect(withConstraintErrors(() => heartbeats.flush())).rejects.toMatchObject({ code: 'conflict' });

    const environments = em();
    environments.create(Environment, {
      project: seed.project.id,
      name: 'staging',
      slug: 'staging-2',
      branch: 'main',
    });
    await expect(withConstraintErrors(() => environments.flush())).rejects.toMatchObject({
      code: 'conflict',
    });

    // The same name in another project is fine.
    const other = await seedProject(em());
    expect(other.environment.name).toBe(seed.environment.name);
  });

  it('refuses a heartbeat with both or neither schedule', async () => {
    const seed = await seedProject(em());
    const work = em();
    work.create(Heartbeat, {
      project: seed.project.id,
      name: 'both',
      token: 't-both',
      intervalMinutes: 10,
      cron: '* * * * *',
    });
    // A check constraint refuses a value, not a clash with other rows: invalid input (422).
    await expect(withConstraintErrors(() => work.flush())).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('deletes a project with everything that belongs to it, and keeps the audit log', async () => {
    const seed = await seedProject(em());
    const work = em();
    deployment(work, seed, 'finished');
    await work.flush();
    await database.query(
      "insert into audit_events (actor_name, source, action, project_id, result) values ('Ada', 'test', 'project.delete', $1, 'ok')",
      [seed.project.id],
    );

    const removal = em();
    removal.remove(removal.getReference(Project, seed.project.id));
    await removal.flush();

    for (const table of ['environments', 'servers', 'deployments']) {
      const rows = await database.query(`select count(*)::int as n from ${table} where project_id = $1`, [
        seed.project.id,
      ]);
      expect(rows[0]?.n, table).toBe(0);
    }
    const audit = await database.query('select count(*)::int as n from audit_events where project_id = $1', [
      seed.project.id,
    ]);
    expect(audit[0]?.n).toBe(1);
  });
});
