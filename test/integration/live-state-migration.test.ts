import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, type Orm } from '../../src/db/orm.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from '../support/database.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

/** The live-state migration fills the new columns from the history that existed before it. */
describe('live-state migration backfills from history', () => {
  let database: TestDatabase;
  let orm: Orm;

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    orm = await openTestOrm(database);
    await orm.migrator.up({ to: 'Migration20261123085822_notifications' });
  });
  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
  });

  it('sets the live release and commit a rollback left, and what each deployment replaced', async () => {
    await database.query(
      `insert into projects (id, name, repository, ssh_private_key, ssh_public_key)
       values ('00000000-0000-4000-8000-000000000001', 'api', '/srv/repo.git', 'x', 'y')`,
    );
    await database.query(
      `insert into environments (id, project_id, name, slug, branch)
       values ('00000000-0000-4000-8000-0000000000e1', '00000000-0000-4000-8000-000000000001', 'staging', 'staging', 'main'),
              ('00000000-0000-4000-8000-0000000000e2', '00000000-0000-4000-8000-000000000001', 'empty', 'empty', 'main')`,
    );
    const deployment = (
      n: number,
      kind: string,
      status: string,
      release: string | null,
      commit: string | null,
    ) =>
      database.query(
        `insert into deployments (id, project_id, environment_id, kind, status, ref, commit_hash, release_name,
           target_release, requested_by_name, source, finished_at)
         values ($1, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-0000000000e1', $2, $3, 'main',
                 $4, $5, $6, 'ada', 'test', now() + ($7 || ' minutes')::interval)`,
        [
          `00000000-0000-4000-8000-00000000000${n}`,
          kind,
          status,
          commit,
          release,
          kind === 'rollback' ? release : null,
          String(n),
        ],
      );
    await deployment(1, 'deploy', 'finished', 'r1', A);
    await deployment(2, 'deploy', 'finished', 'r2', B);
    await deployment(3, 'deploy', 'failed', null, B);
    await deployment(4, 'rollback', 'finished', 'r1', null);

    await migrate(orm);
    const [staging] = await database.query(
      `select live_release, live_commit, live_deployment_id from environments where name = 'staging'`,
    );
    expect(staging).toEqual({
      live_release: 'r1',
      live_commit: A,
      live_deployment_id: '00000000-0000-4000-8000-000000000001',
    });
    const [empty] = await database.query(
      `select live_release, live_commit from environments where name = 'empty'`,
    );
    expect(empty).toEqual({ live_release: null, live_commit: null });
    const previous = await database.query(
      `select number, previous_release from deployments order by finished_at`,
    );
    expect(previous.map((row) => row.previous_release)).toEqual([null, 'r1', null, 'r2']);
  });
});
