import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { DeploymentPlan, PlanServer } from '../../src/engine/plan.js';
import { currentRelease, makePlan, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { RecordingObserver } from '../harness/recording-observer.js';
import { runCommand } from '../harness/run-command.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';

const TIMEOUT = 60_000;

/** Processes on this machine whose command line contains `marker` (the hosts are local). */
async function processesMatching(marker: string): Promise<string[]> {
  const out = await runCommand('ps', ['-eo', 'pid=,args=']);
  return out.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe.skipIf(skipSshSuites)('cancel, timeouts and host keys on OpenSSH hosts', () => {
  let ssh: SshHosts;
  let repo: FixtureRepository;
  const runner = new DeploymentRunner();

  beforeAll(async () => {
    ssh = await startSshHosts(3);
    repo = await createFixtureRepository({ owner: ssh.user });
  }, TIMEOUT);
  afterAll(async () => {
    await ssh?.stopAll();
    await repo?.cleanup();
  });

  const serversFor = (test: string, pin = true): PlanServer[] =>
    ssh.hosts.map((host) => host.server({ subPath: test, pin }));
  const plan = (servers: PlanServer[], overrides: Partial<DeploymentPlan> = {}) =>
    makePlan(
      { repository: repo.path, commit: repo.commits[1]!, servers, privateKey: ssh.clientPrivateKey },
      overrides,
    );

  it(
    'cancel mid-install stops the remote commands, removes the release and leaves current alone',
    async () => {
      const servers = serversFor('cancel');
      const good = plan(servers);
      expect((await runner.deploy(good, new RecordingObserver())).status).toBe('finished');

      const marker = `sleep 30.${process.pid}1`;
      const controller = new AbortController();
      const observer = new RecordingObserver();
      const pending = runner.deploy(
        plan(servers, { installCommand: `echo installing; ${marker}` }),
        observer,
        controller.signal,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // The install is really running on the hosts.
      expect((await processesMatching(marker)).length).toBe(3);
      const cancelledAt = Date.now();
      controller.abort();
      const result = await pending;

      expect(Date.now() - cancelledAt).toBeLessThan(3000);
      expect(result.status).toBe('cancelled');
      expect(result.activated).toBe(false);
      expect(result.failure).toBeNull();
      expect(await processesMatching(marker)).toEqual([]);
      for (const server of servers) {
        expect(await currentRelease(server.deployPath)).toBe(good.releaseName);
        expect(await releasesOn(server.deployPath)).toEqual([good.releaseName]);
        const steps = observer.finished(server.id);
        const install = steps.find((s) => s.step.key === 'install')!.outcome;
        expect(install).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', exitCode: null });
        expect(install.outputTail).toBe('installing\n');
        expect(steps.find((s) => s.step.key === 'cleanup')?.outcome.status).toBe('finished');
        expect(steps.find((s) => s.step.key === 'activate')?.outcome.status).toBe('skipped');
      }
    },
    TIMEOUT,
  );

  it('a deployment cancelled before it starts touches nothing', async () => {
    const servers = serversFor('cancel-early');
    const controller = new AbortController();
    controller.abort();
    const observer = new RecordingObserver();
    const result = await runner.deploy(plan(servers), observer, controller.signal);
    expect(result.status).toBe('cancelled');
    expect(observer.events.filter((e) => e.type === 'started')).toEqual([]);
    for (const server of servers) expect(await releasesOn(server.deployPath)).toEqual([]);
  });

  it(
    'cancel after activation has begun is ignored: the deployment finishes',
    async () => {
      const servers = serversFor('cancel-late');
      const controller = new AbortController();
      const observer = new RecordingObserver();
      const original = observer.onPhase.bind(observer);
      observer.onPhase = (phase) => {
        original(phase);
        if (phase === 'activate') controller.abort();
      };
      const deployment = plan(servers, {
        hooks: [
          {
            id: 'slow',
            name: 'slow',
            script: 'sleep 0.5; echo done',
            action: 'activate',
            timing: 'after',
            order: 1,
            serverIds: null,
            runAs: null,
          },
        ],
      });
      const result = await runner.deploy(deployment, observer, controller.signal);
      expect(controller.signal.aborted).toBe(true);
      expect(result.status).toBe('finished');
      for (const server of servers)
        expect(await currentRelease(server.deployPath)).toBe(deployment.releaseName);
    },
    TIMEOUT,
  );

  it(
    'a step that overruns the command timeout is stopped and fails the deployment',
    async () => {
      const servers = serversFor('timeout');
      const marker = `sleep 20.${process.pid}2`;
      const started = Date.now();
      const result = await runner.deploy(
        plan(servers, { installCommand: marker, commandTimeoutMs: 1500 }),
        new RecordingObserver(),
      );
      expect(Date.now() - started).toBeLessThan(8000);
      expect(result.status).toBe('failed');
      expect(result.failure).toMatchObject({
        step: { key: 'install' },
        errorCode: 'timeout',
        exitCode: null,
      });
      expect(result.failure?.message).toContain('did not finish within 2 s');
      expect(await processesMatching(marker)).toEqual([]);
      for (const server of servers) expect(await releasesOn(server.deployPath)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'learns host keys on first contact, then refuses a host whose key changed',
    async () => {
      const unpinned = serversFor('host-keys', false);
      const observer = new RecordingObserver();
      const first = plan(unpinned);
      expect((await runner.deploy(first, observer)).status).toBe('finished');
      const learned = observer.events.flatMap((e) =>
        e.type === 'hostKey' ? [[e.serverId, e.fingerprint]] : [],
      );
      expect(learned.sort()).toEqual(
        ssh.hosts.map((host, i) => [unpinned[i]!.id, host.hostKeyFingerprint]).sort(),
      );

      const pinned = unpinned.map((server) => ({
        ...server,
        hostKeyFingerprint: learned.find(([id]) => id === server.id)![1]!,
      }));
      const oldKey = ssh.hosts[1]!.hostKeyFingerprint;
      const newKey = await ssh.restartHostWithNewKey(1);
      expect(newKey).not.toBe(oldKey);

      const refused = await runner.deploy(plan(pinned), new RecordingObserver());
      expect(refused.status).toBe('failed');
      expect(refused.failure).toMatchObject({
        serverId: pinned[1]!.id,
        step: { key: 'connect' },
        errorCode: 'host_key_mismatch',
      });
      expect(refused.failure?.message).toContain(oldKey);
      expect(refused.failure?.message).toContain(newKey);
      expect(refused.failure?.message).toContain('has changed');
      for (const server of pinned) {
        expect(await currentRelease(server.deployPath)).toBe(first.releaseName);
        expect(await releasesOn(server.deployPath)).toEqual([first.releaseName]);
      }

      // Once the new key is pinned (after the user confirmed it), deploys work again.
      const repinned = pinned.map((server, i) =>
        i === 1 ? { ...server, hostKeyFingerprint: newKey } : server,
      );
      expect((await runner.deploy(plan(repinned), new RecordingObserver())).status).toBe('finished');
    },
    TIMEOUT,
  );
});
