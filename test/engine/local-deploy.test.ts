import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { PlanServer } from '../../src/engine/plan.js';
import { currentRelease, makePlan, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { RecordingObserver } from '../harness/recording-observer.js';

describe('DeploymentRunner with the local transport', () => {
  let dir: string;
  let repo: FixtureRepository;
  const runner = new DeploymentRunner();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-local-'));
    repo = await createFixtureRepository();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await repo?.cleanup();
  });

  const servers = (test: string): PlanServer[] =>
    ['a', 'b'].map((name) => ({
      id: `local-${name}`,
      name: `local-${name}`,
      host: 'localhost',
      port: 22,
      user: 'ignored',
      deployPath: join(dir, test, name),
      transport: 'local',
    }));

  it('deploys, links the env file, and rolls back on the Slipway host itself', async () => {
    const targets = servers('deploy');
    process.env.SLIPWAY_TEST_PARENT_SECRET = 'must-not-leak-into-hooks';
    const input = { repository: repo.path, commit: repo.commits[0]!, servers: targets, privateKey: '' };
    const first = makePlan(input, {
      envFile: 'A=1\n',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion
      installCommand: 'echo "parent secret: ${SLIPWAY_TEST_PARENT_SECRET:-unset}"',
    });
    const observer = new RecordingObserver();
    const result = await runner.deploy(first, observer);
    delete process.env.SLIPWAY_TEST_PARENT_SECRET;
    expect(result.failure).toBeNull();
    expect(result.status).toBe('finished');
    for (const server of targets) {
      expect(await currentRelease(server.deployPath)).toBe(first.releaseName);
      expect(await readFile(join(server.deployPath, 'current', 'VERSION'), 'utf8')).toBe('1\n');
      expect((await stat(join(server.deployPath, 'shared', '.env'))).mode & 0o777).toBe(0o600);
      // Slipway's own environment (database URL, secret key…) is not passed to local commands.
      expect(observer.finished(server.id).find((s) => s.step.key === 'install')?.outcome.outputTail).toBe(
        'parent secret: unset\n',
      );
    }

    const second = makePlan({ ...input, commit: repo.commits[1]! });
    expect((await runner.deploy(second, new RecordingObserver())).status).toBe('finished');
    for (const server of targets) expect(await currentRelease(server.deployPath)).toBe(second.releaseName);

    const back = await runner.rollback(
      {
        deploymentId: 'rb',
        servers: targets,
        privateKey: '',
        concurrency: 2,
        commandTimeoutMs: 10_000,
        connectTimeoutMs: 1000,
      },
      new RecordingObserver(),
    );
    expect(back.status).toBe('finished');
    for (const server of targets) {
      expect(await currentRelease(server.deployPath)).toBe(first.releaseName);
      expect(await releasesOn(server.deployPath)).toEqual([first.releaseName, second.releaseName]);
    }
  }, 60_000);

  it('cancels a local install and removes the release', async () => {
    const targets = servers('cancel');
    const controller = new AbortController();
    const pending = runner.deploy(
      makePlan(
        { repository: repo.path, commit: repo.commits[1]!, servers: targets, privateKey: '' },
        { installCommand: 'sleep 30' },
      ),
      new RecordingObserver(),
      controller.signal,
    );
    setTimeout(() => controller.abort(), 500);
    const started = Date.now();
    const result = await pending;
    expect(Date.now() - started).toBeLessThan(4000);
    expect(result.status).toBe('cancelled');
    for (const server of targets) {
      expect(await currentRelease(server.deployPath)).toBeNull();
      expect(await releasesOn(server.deployPath)).toEqual([]);
    }
  }, 60_000);
});
