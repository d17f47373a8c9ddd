import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { DeploymentPlan, PlanHook, PlanServer } from '../../src/engine/plan.js';
import { createTransport } from '../../src/engine/transport/create-transport.js';
import type { Transport } from '../../src/engine/transport/transport.js';
import { currentRelease, makePlan, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { RecordingObserver } from '../harness/recording-observer.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';

const hook = (overrides: Partial<PlanHook>): PlanHook => ({
  id: 'h',
  name: 'h',
  script: 'true',
  action: 'purge',
  timing: 'after',
  order: 1,
  serverIds: null,
  runAs: null,
  ...overrides,
});

/** Activation, purge and the barrier on real OpenSSH: two round trips per server, the second opened early. */
describe.skipIf(skipSshSuites)('activation on OpenSSH hosts', () => {
  let ssh: SshHosts;
  let repo: FixtureRepository;

  beforeAll(async () => {
    ssh = await startSshHosts(3);
    repo = await createFixtureRepository({ owner: ssh.user });
  }, 60_000);
  afterAll(async () => {
    await ssh?.stopAll();
    await repo?.cleanup();
  });

  const serversFor = (test: string): PlanServer[] => ssh.hosts.map((host) => host.server({ subPath: test }));
  const plan = (servers: PlanServer[], overrides: Partial<DeploymentPlan> = {}) =>
    makePlan(
      { repository: repo.path, commit: repo.commits[1]!, servers, privateKey: ssh.clientPrivateKey },
      overrides,
    );

  it('runs prepare and activate-with-purge as two commands per server; a slow server holds every switch', async () => {
    const servers = serversFor('two-trips');
    const execs = new Map<string, number>();
    const runner = new DeploymentRunner({
      createTransport: (server, settings, learned) => {
        const inner = createTransport(server, settings, learned);
        const counted: Transport = {
          label: inner.label,
          connect: (signal) => inner.connect(signal),
          exec: (script, options) => {
            execs.set(server.id, (execs.get(server.id) ?? 0) + 1);
            return inner.exec(script, options);
          },
          close: () => inner.close(),
        };
        return counted;
      },
    });
    // web-3 prepares 1.5 s longer than the others; nobody may switch before it is done.
    const deployment = plan(servers, {
      installCommand: `if [ "$SLIPWAY_SERVER" = ${servers[2]!.name} ]; then sleep 1.5; fi`,
    });
    const observer = new RecordingObserver();
    let prepared = 0;
    observer.onStepFinished = (serverId, step, outcome) => {
      if (step.key === 'install') prepared++;
      observer.events.push({ type: 'finished', serverId, step, outcome });
    };
    const currents: (string | null)[][] = [];
    observer.beforeActivation = async () => {
      // Every server prepared, and still on its old release (none) at this moment.
      expect(prepared).toBe(3);
      currents.push(await Promise.all(servers.map((server) => currentRelease(server.deployPath))));
    };
    const result = await runner.deploy(deployment, observer);
    expect(result.status).toBe('finished');
    expect(currents).toEqual([[null, null, null]]);
    for (const server of servers) {
      expect(execs.get(server.id)).toBe(2);
      expect(await currentRelease(server.deployPath)).toBe(deployment.releaseName);
      expect(observer.finished(server.id).map((s) => s.step.key)).toEqual([
        'connect',
        'clone',
        'install',
        'activate',
        'purge',
      ]);
    }
  });

  it('a failing purge hook fails the deployment but switches nobody back', async () => {
    const servers = serversFor('purge-fails');
    const runner = new DeploymentRunner();
    const deployment = plan(servers, {
      hooks: [hook({ script: `[ "$SLIPWAY_SERVER" != ${servers[1]!.name} ] || exit 4` })],
    });
    const result = await runner.deploy(deployment, new RecordingObserver());
    expect(result.status).toBe('failed');
    expect(result.activated).toBe(true);
    expect(result.failure?.message).toContain(`failed on ${servers[1]!.name} (exit 4)`);
    for (const server of servers) {
      expect(await currentRelease(server.deployPath)).toBe(deployment.releaseName);
      expect(await releasesOn(server.deployPath)).toEqual([deployment.releaseName]);
    }
  });

  it('a beforeActivation that throws stops the deployment before anybody is switched', async () => {
    const servers = serversFor('not-recorded');
    const runner = new DeploymentRunner();
    const live = plan(servers);
    expect((await runner.deploy(live, new RecordingObserver())).status).toBe('finished');
    const observer = new RecordingObserver();
    observer.beforeActivation = async () => {
      throw new Error('database unavailable');
    };
    const next = plan(servers, { commit: repo.commits[0]! });
    const result = await runner.deploy(next, observer);
    expect(result.status).toBe('failed');
    expect(result.failure?.message).toMatch(/Activation did not start.*database unavailable/);
    for (const server of servers) {
      expect(await currentRelease(server.deployPath)).toBe(live.releaseName);
      expect(await releasesOn(server.deployPath)).toEqual([live.releaseName]);
      const keys = observer.finished(server.id).map((s) => `${s.step.key}:${s.outcome.status}`);
      expect(keys).toContain('activate:skipped');
    }
  });
});
