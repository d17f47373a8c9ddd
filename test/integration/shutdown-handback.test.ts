import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentRelease, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ADA, ended, startDeployStack, trustFixtureRepository } from '../support/deploy-stack.js';

/**
 * A graceful shutdown does not abandon a deployment halfway: one that has not activated stops,
 * its release is removed, and it goes back to the queue — where the next process runs it.
 */
describe.skipIf(skipSshSuites)('shutdown with a deployment in flight', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(2);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustFixtureRepository(repo.path);
  });
  afterAll(async () => {
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  it('hands the deployment back to the queue before activation; the next process finishes it', async () => {
    const first = await startDeployStack(database);
    const { project, deployPaths } = await first.project(hosts, repo.path);
    const initial = await first.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    const live = (await first.waitFor(initial.id, ended)).releaseName;

    const slow = await first.reload(project);
    slow.installCommand = 'sleep 30';
    await first.em().upsert(slow);
    const inFlight = await first.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    for (let i = 0; i < 200; i++) {
      const rows = await database.query(
        "select count(*)::int as n from deployment_steps where deployment_id = $1 and name ilike '%install%' and status = 'running'",
        [inFlight.id],
      );
      if (rows[0]?.n === deployPaths.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const stopping = Date.now();
    await first.stop();
    expect(Date.now() - stopping).toBeLessThan(10_000);
    const handedBack = await first.waitFor(inFlight.id, () => true);
    expect(handedBack.status).toBe('queued');
    expect(handedBack.runnerId).toBeNull();
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(live);
      expect(await releasesOn(path)).toEqual([live]);
    }

    // The next process (here: a second stack) takes the job from the queue and finishes it.
    const second = await startDeployStack(database, { secretKey: first.secretKey });
    try {
      const fast = await second.reload(project);
      fast.installCommand = null;
      await second.em().upsert(fast);
      const done = await second.waitFor(inFlight.id, ended, 60_000);
      expect(done.status, done.failureReason ?? '').toBe('finished');
      for (const path of deployPaths) expect(await currentRelease(path)).toBe(done.releaseName);
    } finally {
      await second.stop();
    }
  });
});
