import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentReply } from '../../src/chat/replies.js';
import { Deployment } from '../../src/db/entities/index.js';
import { currentRelease } from '../harness/deploy-fixtures.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { ADA, ended, type SshDeploySuite, startSshDeploySuite } from '../support/deploy-stack.js';

/** Rollback to the release before, or to a named one; refused at once when there is nothing behind. */
describe.skipIf(skipSshSuites)('rollback', () => {
  let suite: SshDeploySuite;
  beforeAll(async () => {
    suite = await startSshDeploySuite(2);
  });
  afterAll(() => suite?.stop());

  const setUp = async () => {
    const made = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 2 });
    for (const sha of suite.repo.commits) {
      await suite.stack.services.statuses.report(ADA, made.project.name, sha, { state: 'success' });
    }
    return made;
  };
  const deploy = async (project: string, ref: string) => {
    const requested = await suite.stack.deployments.requestDeploy(ADA, {
      project,
      environment: 'production',
      ref,
    });
    const done = await suite.stack.waitFor(requested.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    return done;
  };
  const card = async (id: string) => deploymentReply(await suite.stack.services.views.deployment(id));

  it('refuses at once, naming the releases, when there is nothing to go back to; records nothing', async () => {
    const { project, deployPaths } = await setUp();
    const first = await deploy(project.name, 'main');
    // The first release offers no Rollback button: there is nothing behind it.
    expect((await card(first.id)).buttons ?? []).toEqual([]);

    const before = await suite.stack.em().count(Deployment, { project: project.id });
    const attempt = suite.stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
    });
    await expect(attempt).rejects.toMatchObject({ code: 'refused' });
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `Nothing to roll back to.*${first.releaseName} \\(#${first.number}, ${suite.repo.commits[1]!.slice(0, 8)}, live\\)`,
      ),
    );
    expect(await suite.stack.em().count(Deployment, { project: project.id })).toBe(before);
    const status = await suite.stack.services.views.environment(project.name, 'production');
    expect(status.lastDeploy?.status).toBe('finished');
    for (const path of deployPaths) expect(await currentRelease(path)).toBe(first.releaseName);
  });

  it('offers the button once there is a release behind, and rolls back to it', async () => {
    const { project } = await setUp();
    const first = await deploy(project.name, suite.repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    const buttons = (await card(second.id)).buttons ?? [];
    expect(buttons.map((b) => [b.actionId, b.value])).toEqual([['rollback', `${project.name} production`]]);

    const rollback = await suite.stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
    });
    // The target is settled before it is queued: the release before, and its commit.
    expect(rollback.targetRelease).toBe(first.releaseName);
    expect(rollback.commitHash).toBe(suite.repo.commits[0]);
    const done = await suite.stack.waitFor(rollback.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(done.previousRelease).toBe(second.releaseName);
  });

  it('rolls back to a named release, by name or by its deployment number', async () => {
    const { project, deployPaths } = await setUp();
    const first = await deploy(project.name, suite.repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    await deploy(project.name, 'main');

    const byNumber = await suite.stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
      release: `#${first.number}`,
    });
    expect(byNumber.targetRelease).toBe(first.releaseName);
    expect((await suite.stack.waitFor(byNumber.id, ended)).status).toBe('finished');
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(first.releaseName);
      expect(await readFile(join(path, 'current', 'VERSION'), 'utf8')).toBe('1\n');
    }
    const live = await suite.stack.services.views.environment(project.name, 'production');
    expect(live.liveCommit).toBe(suite.repo.commits[0]);

    const byName = await suite.stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
      release: second.releaseName!,
    });
    expect((await suite.stack.waitFor(byName.id, ended)).status).toBe('finished');
    for (const path of deployPaths) expect(await currentRelease(path)).toBe(second.releaseName);
  });

  it('refuses a release that is not kept, the live one, and an unknown deployment number', async () => {
    const { project } = await setUp();
    const first = await deploy(project.name, suite.repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    const before = await suite.stack.em().count(Deployment, { project: project.id });
    const attempts: [string, RegExp][] = [
      ['20200101000000-0000000001', /20200101000000-0000000001 is not on web-1.*Releases kept/],
      [second.releaseName!, /already live/],
      ['#999999', /no deployment #999999 .*production/],
    ];
    for (const [release, message] of attempts) {
      await expect(
        suite.stack.deployments.requestRollback(ADA, {
          project: project.name,
          environment: 'production',
          release,
        }),
      ).rejects.toThrow(message);
    }
    expect(await suite.stack.em().count(Deployment, { project: project.id })).toBe(before);
    expect(first.releaseName).not.toBe(second.releaseName);
  });

  /** Logins each sshd has accepted so far (its log has one line per SSH connection that logged in). */
  const logins = () =>
    Promise.all(
      suite.hosts.hosts
        .slice(0, 2)
        .map(async (host) => (await readFile(host.logPath, 'utf8')).split('Accepted publickey').length - 1),
    );

  it('connects to each server once per rollback: the request settles the target from the records', async () => {
    const { project, deployPaths } = await setUp();
    const first = await deploy(project.name, suite.repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    const before = await logins();
    const rollback = await suite.stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
    });
    // Settled and queued without a round trip to any server: nothing logged in yet.
    expect(await logins()).toEqual(before);
    expect(rollback.targetRelease).toBe(first.releaseName);
    const done = await suite.stack.waitFor(rollback.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(done.previousRelease).toBe(second.releaseName);
    // The run itself: one connection per server, which checks and switches.
    expect((await logins()).map((count, index) => count - before[index]!)).toEqual([1, 1]);
    for (const path of deployPaths) expect(await currentRelease(path)).toBe(first.releaseName);
  });

  it('switches no server when one has lost the release the records keep', async () => {
    const { project, deployPaths } = await setUp();
    const first = await deploy(project.name, suite.repo.commits[0]!);
    const second = await deploy(project.name, 'main');
    await rm(join(deployPaths[1]!, 'releases', first.releaseName!), { recursive: true, force: true });
    const rollback = await suite.stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
    });
    const done = await suite.stack.waitFor(rollback.id, ended);
    expect(done.status).toBe('failed');
    expect(done.failureReason).toMatch(new RegExp(`${first.releaseName} is not on web-2`));
    for (const path of deployPaths) expect(await currentRelease(path)).toBe(second.releaseName);
    const live = await suite.stack.services.views.environment(project.name, 'production');
    expect(live.liveRelease).toBe(second.releaseName);
  });
});
