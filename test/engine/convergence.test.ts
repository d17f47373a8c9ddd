import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { PlanServer } from '../../src/engine/plan.js';
import { currentRelease, makePlan, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { killBetweenSwitches } from '../harness/kill-between-switches.js';
import { RecordingObserver } from '../harness/recording-observer.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';

describe.skipIf(skipSshSuites)('convergence after a crash during activation', () => {
  let ssh: SshHosts;
  let repo: FixtureRepository;
  const runner = new DeploymentRunner();
  const settings = (ssh: SshHosts) => ({
    privateKey: ssh.clientPrivateKey,
    concurrency: 3,
    commandTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
  });

  beforeAll(async () => {
    ssh = await startSshHosts(2);
    repo = await createFixtureRepository({ owner: ssh.user });
  }, 60_000);
  afterAll(async () => {
    await ssh?.stopAll();
    await repo?.cleanup();
  });

  const serversFor = (test: string): PlanServer[] => ssh.hosts.map((host) => host.server({ subPath: test }));
  const input = (servers: PlanServer[], commit: string) => ({
    repository: repo.path,
    commit,
    servers,
    privateKey: ssh.clientPrivateKey,
  });

  it('switches the switched server back when the worker died between two switches', async () => {
    const servers = serversFor('converge-back');
    const old = makePlan(input(servers, repo.commits[0]!));
    expect((await runner.deploy(old, new RecordingObserver())).status).toBe('finished');

    const next = makePlan(input(servers, repo.commits[1]!));
    await killBetweenSwitches(next, servers[1]!.id);
    // Mixed: the first server on the new release, the second still on the old one.
    expect(await currentRelease(servers[0]!.deployPath)).toBe(next.releaseName);
    expect(await currentRelease(servers[1]!.deployPath)).toBe(old.releaseName);

    const report = await runner.converge(servers, settings(ssh), next.releaseName);
    expect(report.direction).toBe('back');
    for (const server of servers) {
      expect(await currentRelease(server.deployPath)).toBe(old.releaseName);
      expect(await releasesOn(server.deployPath)).toEqual([old.releaseName]);
      expect(report.servers.find((s) => s.serverId === server.id)).toMatchObject({
        currentRelease: old.releaseName,
        error: null,
      });
    }
  }, 60_000);

  it('finishes the switch when a switched server has nothing to go back to (a first deploy)', async () => {
    const servers = serversFor('converge-forward');
    const first = makePlan(input(servers, repo.commits[1]!));
    await killBetweenSwitches(first, servers[1]!.id);
    expect(await currentRelease(servers[0]!.deployPath)).toBe(first.releaseName);
    expect(await currentRelease(servers[1]!.deployPath)).toBeNull();

    const report = await runner.converge(servers, settings(ssh), first.releaseName);
    expect(report.direction).toBe('forward');
    for (const server of servers) expect(await currentRelease(server.deployPath)).toBe(first.releaseName);
  }, 60_000);

  it('keeps a release that every server already runs, and removes one no server was switched to', async () => {
    const servers = serversFor('converge-kept');
    const live = makePlan(input(servers, repo.commits[0]!));
    await runner.deploy(live, new RecordingObserver());
    expect((await runner.converge(servers, settings(ssh), live.releaseName)).direction).toBe('kept');
    const never = makePlan(input(servers, repo.commits[1]!));
    const report = await runner.converge(servers, settings(ssh), never.releaseName);
    expect(report.direction).toBe('none');
    for (const server of servers) expect(await currentRelease(server.deployPath)).toBe(live.releaseName);
  }, 60_000);
});
