import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentRelease, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ADA, ended, startDeployStack, trustFixtureRepository } from '../support/deploy-stack.js';
import { freePort, runSlipway, type ServiceProcess, waitForStatus } from '../support/service-process.js';

/**
 * The process running a deployment is killed (SIGKILL, a real child process). On the next
 * start the deployment must be failed/interrupted, its slot free, and every host still on its
 * old release with no half-built release left behind.
 */
describe.skipIf(skipSshSuites)('a worker killed mid-deployment', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let stack: Awaited<ReturnType<typeof startDeployStack>>;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(2);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustFixtureRepository(repo.path);
    // This process only requests; the service child process runs the jobs.
    stack = await startDeployStack(database, { work: false });
  });
  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await stack?.stop();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  const startService = async (port: number) => {
    const child = runSlipway(['start'], {
      DATABASE_URL: database.url,
      SLIPWAY_SECRET_KEY: stack.secretKey,
      PORT: String(port),
      GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL ?? '',
      LOG_LEVEL: 'info',
    });
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 60_000, child);
    return child;
  };

  it('is failed/interrupted after a restart, frees its slot, and leaves every host on its old release', async () => {
    const { project, deployPaths } = await stack.project(hosts, repo.path);
    const port = await freePort();
    service = await startService(port);

    const first = await stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    const live = (await stack.waitFor(first.id, ended)).releaseName;
    expect(live).not.toBeNull();

    const em = stack.em();
    const reloaded = await stack.reload(project);
    reloaded.installCommand = 'sleep 60';
    await em.upsert(reloaded);
    const doomed = await stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    for (let i = 0; i < 300; i++) {
      const rows = await database.query(
        "select count(*)::int as n from deployment_steps where deployment_id = $1 and name ilike '%install%' and status = 'running'",
        [doomed.id],
      );
      if (rows[0]?.n === deployPaths.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const running = await stack.waitFor(doomed.id, (deployment) => deployment.status === 'running');
    const newRelease = running.releaseName!;
    for (const path of deployPaths) expect(await releasesOn(path)).toContain(newRelease);

    service.child.kill('SIGKILL');
    await service.exited;
    service = undefined;
    // Still `running` in the database: nobody has noticed yet.
    expect((await stack.waitFor(doomed.id, () => true)).status).toBe('running');

    service = await startService(port);
    // The slot is freed only once the servers are clean: the moment the row says failed, the
    // half-built release is already gone everywhere.
    let releasesWhenFreed: string[][] = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      const [row] = await database.query<{ status: string }>('select status from deployments where id = $1', [
        doomed.id,
      ]);
      if (row?.status !== 'running') {
        releasesWhenFreed = await Promise.all(deployPaths.map((path) => releasesOn(path)));
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const releases of releasesWhenFreed) expect(releases).not.toContain(newRelease);
    expect(releasesWhenFreed).toHaveLength(deployPaths.length);
    const reaped = await stack.waitFor(doomed.id, ended, 30_000);
    expect(reaped.status).toBe('failed');
    expect(reaped.failureCode).toBe('interrupted');
    expect(reaped.failureReason).toMatch(/Interrupted/);
    expect(reaped.failureReason).toContain(`web-1: ${live}`);

    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(live);
      expect(await releasesOn(path)).not.toContain(newRelease);
    }

    // The slot is free: the next deploy runs (on the restarted service) and finishes.
    reloaded.installCommand = null;
    await stack.em().upsert(reloaded);
    const next = await stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    expect((await stack.waitFor(next.id, ended)).status).toBe('finished');
  });
});
