import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentReply } from '../../src/chat/replies.js';
import { Deployment } from '../../src/db/entities/index.js';
import { currentRelease } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ADA, ended, startDeployStack, trustFixtureRepository } from '../support/deploy-stack.js';

/** Rollback to the release before, or to a named one; refused at once when there is nothing behind. */
describe.skipIf(skipSshSuites)('rollback', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let stack: Awaited<ReturnType<typeof startDeployStack>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(2);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustFixtureRepository(repo.path);
    stack = await startDeployStack(database);
  });
  afterAll(async () => {
    await stack?.stop();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  const setUp = async () => {
    const made = await stack.project(hosts, repo.path, { servers: 2 });
    for (const sha of repo.commits) {
      await stack.services.statuses.report(ADA, made.project.name, sha, { state: 'success' });
    }
    return made;
  };
  const deploy = async (project: string, ref: string) => {
    const requested = await stack.deployments.requestDeploy(ADA, { project, environment: 'production', ref });
    const done = await stack.waitFor(requested.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    return done;
  };
  const card = async (id: string) => deploymentReply(await stack.services.views.deployment(id));

  it('refuses at once, naming the releases, when there is nothing to go back to; records nothing', async () => {
    const { project, deployPaths } = await setUp();
    const first = await deploy(project.name, 'main');
    // The first release offers no Rollback button: there is nothing behind it.
    expect((await card(first.id)).buttons ?? []).toEqual([]);

    const before = await stack.em().count(Deployment, { project: project.id });
    const attempt = stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
    });
    await expect(attempt).rejects.toMatchObject({ code: 'refused' });
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `Nothing to roll back to.*${first.releaseName} \\(#${first.number}, ${repo.commits[1]!.slice(0, 8)}, live\\)`,
      ),
    );
    expect(await stack.em().count(Deployment, { project: project.id })).toBe(before);
    const status = await stack.services.views.environment(project.name, 'production');
    expect(status.lastDeploy?.status).toBe('finished');
    for (const path of deployPaths) expect(await currentRelease(path)).toBe(first.releaseName);
  });

  it('offers the button once there is a release behind, and rolls back to it', async () => {
    const { project } = await setUp();
    const first = await deploy(project.name, repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    const buttons = (await card(second.id)).buttons ?? [];
    expect(buttons.map((b) => [b.actionId, b.value])).toEqual([['rollback', `${project.name} production`]]);

    const rollback = await stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
    });
    // The target is settled before it is queued: the release before, and its commit.
    expect(rollback.targetRelease).toBe(first.releaseName);
    expect(rollback.commitHash).toBe(repo.commits[0]);
    const done = await stack.waitFor(rollback.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(done.previousRelease).toBe(second.releaseName);
  });

  it('rolls back to a named release, by name or by its deployment number', async () => {
    const { project, deployPaths } = await setUp();
    const first = await deploy(project.name, repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    await deploy(project.name, 'main');

    const byNumber = await stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
      release: `#${first.number}`,
    });
    expect(byNumber.targetRelease).toBe(first.releaseName);
    expect((await stack.waitFor(byNumber.id, ended)).status).toBe('finished');
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(first.releaseName);
      expect(await readFile(join(path, 'current', 'VERSION'), 'utf8')).toBe('1\n');
    }
    const live = await stack.services.views.environment(project.name, 'production');
    expect(live.liveCommit).toBe(repo.commits[0]);

    const byName = await stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
      release: second.releaseName!,
    });
    expect((await stack.waitFor(byName.id, ended)).status).toBe('finished');
    for (const path of deployPaths) expect(await currentRelease(path)).toBe(second.releaseName);
  });

  it('refuses a release that is not kept, the live one, and an unknown deployment number', async () => {
    const { project } = await setUp();
    const first = await deploy(project.name, repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    const before = await stack.em().count(Deployment, { project: project.id });
    const attempts: [string, RegExp][] = [
      ['20200101000000-0000000001', /20200101000000-0000000001 is not on web-1.*Releases kept/],
      [second.releaseName!, /already live/],
      ['#999999', /no deployment #999999 .*production/],
    ];
    for (const [release, message] of attempts) {
      await expect(
        stack.deployments.requestRollback(ADA, { project: project.name, environment: 'production', release }),
      ).rejects.toThrow(message);
    }
    expect(await stack.em().count(Deployment, { project: project.id })).toBe(before);
    expect(first.releaseName).not.toBe(second.releaseName);
  });
});
