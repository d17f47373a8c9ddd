import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineExecutionSnapshot } from '../../src/core/notifications/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ADA, startDeployStack, trustFixtureRepository } from '../support/deploy-stack.js';

/**
 * A pipeline over real OpenSSH: each stage deploys to its own server, smoke commands run in the
 * live release there, a confirmation names one person, and webhooks leave through the one
 * outbound fetch the services were given.
 */
describe.skipIf(skipSshSuites)('pipelines over SSH', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let stack: Awaited<ReturnType<typeof startDeployStack>>;
  const outbound: string[] = [];
  const receiver = createServer((_request, response) => response.writeHead(200).end('ok'));
  let hookUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(2);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustFixtureRepository(repo.path);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/after`;
    stack = await startDeployStack(database, {
      // The one way out for webhook-trigger steps: here it records, then sends.
      outboundFetch: (input, init) => {
        outbound.push(String(input));
        return fetch(input, init);
      },
    });
  });
  afterAll(async () => {
    receiver.close();
    await stack?.stop();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  const twoStages = async () => {
    const made = await stack.project(hosts, repo.path, { servers: 2 });
    const { environments } = stack.services;
    await environments.update(ADA, made.project.name, 'production', { servers: ['web-2'] });
    await environments.create(ADA, made.project.name, {
      name: 'staging',
      tier: 'staging',
      servers: ['web-1'],
    });
    return made.project.name;
  };
  const until = async (id: string, done: (e: PipelineExecutionSnapshot) => boolean) => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const run = await stack.services.executions.snapshot(id);
      if (done(run)) return run;
      if (Date.now() > deadline) throw new Error(`run still ${JSON.stringify(run, null, 1)}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  };
  const member = (userId: string) =>
    stack.services.access.resolve({ platform: 'web', workspace: 'local', userId, displayName: userId });

  it('runs smoke commands on each stage’s servers; one exiting non-zero fails the run, with its output', async () => {
    const name = await twoStages();
    await stack.services.pipelines.save(ADA, name, 'release', {
      stages: [
        {
          environment: 'staging',
          steps: [
            {
              'run-smoke': {
                command: 'grep -qx 2 VERSION && echo "v$(cat VERSION) on $SLIPWAY_ENVIRONMENT"',
              },
            },
          ],
        },
        {
          environment: 'production',
          steps: [
            { confirmation: { users: ['web:local:carol'] } },
            { 'run-smoke': { command: 'echo "smoke: production answers 502" >&2; exit 7' } },
            { 'webhook-trigger': { url: hookUrl } },
          ],
        },
      ],
    });
    const started = await stack.services.executions.start(ADA, name, 'release', {});
    const waiting = await until(started.id, (e) => e.waitingFor !== null);
    expect(waiting.waitingFor).toMatchObject({ phase: 'production', users: [{ key: 'web:local:carol' }] });
    expect(waiting.phases[0]!.steps.map((s) => [s.type, s.status, s.detail])).toEqual([
      ['deploy', 'ok', expect.stringMatching(/^Deployment #\d+ finished\.$/)],
      ['run-smoke', 'ok', 'web-1: exit 0.'],
    ]);

    // Only the person the step names may confirm: an admin who is not carol is refused.
    const bob = await member('bob');
    await database.query(`update members set global_role = 'admin' where id = $1`, [bob.memberId]);
    await expect(stack.services.executions.decide(bob, started.id, 'confirm')).rejects.toThrow(
      /for the people the pipeline names/,
    );
    await stack.services.executions.decide(await member('carol'), started.id, 'confirm');
    const done = await until(started.id, (e) => e.status === 'ok' || e.status === 'failed');
    expect(done.status).toBe('failed');
    const [, deploy, smoke, webhook] = done.phases[1]!.steps;
    expect(deploy!.status).toBe('ok');
    expect(smoke).toMatchObject({ type: 'run-smoke', status: 'failed' });
    expect(smoke!.detail).toContain('web-2: exit 7.');
    expect(smoke!.detail).toContain('smoke: production answers 502');
    expect(webhook!.status).toBe('skipped');
    expect(outbound).toEqual([]);
  });

  it('sends webhook-trigger steps through the outbound fetch the services were given', async () => {
    const name = await twoStages();
    await stack.services.pipelines.save(ADA, name, 'notify', {
      stages: [{ environment: 'staging', steps: [{ 'webhook-trigger': { url: hookUrl } }] }],
    });
    const started = await stack.services.executions.start(ADA, name, 'notify', {});
    const done = await until(started.id, (e) => e.status === 'ok' || e.status === 'failed');
    expect(done.status, done.failureReason ?? '').toBe('ok');
    expect(outbound).toEqual([hookUrl]);
  });
});
