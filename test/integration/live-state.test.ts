import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Environment } from '../../src/db/entities/index.js';
import { currentRelease } from '../harness/deploy-fixtures.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { ADA, ended, type SshDeploySuite, startSshDeploySuite } from '../support/deploy-stack.js';

/**
 * What is live on an environment is what `current` points at, kept on the environment when an
 * activation or a rollback completes — not guessed from the history of deploys.
 */
describe.skipIf(skipSshSuites)('live state follows activations and rollbacks', () => {
  let suite: SshDeploySuite;
  beforeAll(async () => {
    suite = await startSshDeploySuite(2);
  });
  afterAll(() => suite?.stop());

  /** staging on web-1, production on web-2; CI reported both fixture commits green. */
  async function twoStages() {
    const made = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 2 });
    const name = made.project.name;
    const { environments, statuses } = suite.stack.services;
    await environments.update(ADA, name, 'production', { servers: ['web-2'] });
    await environments.create(ADA, name, { name: 'staging', tier: 'staging', servers: ['web-1'] });
    for (const sha of suite.repo.commits) await statuses.report(ADA, name, sha, { state: 'success' });
    return { name, staging: made.deployPaths[0]!, production: made.deployPaths[1]! };
  }

  const deploy = async (project: string, environment: string, ref: string) => {
    const requested = await suite.stack.deployments.requestDeploy(ADA, { project, environment, ref });
    const done = await suite.stack.waitFor(requested.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    return done;
  };

  it('promotes what a rollback made live (A), not the last deploy (B)', async () => {
    const { name, staging, production } = await twoStages();
    const [a, b] = suite.repo.commits as [string, string];
    const first = await deploy(name, 'staging', a);
    await deploy(name, 'staging', b);
    const rollback = await suite.stack.deployments.requestRollback(ADA, {
      project: name,
      environment: 'staging',
    });
    const rolledBack = await suite.stack.waitFor(rollback.id, ended);
    expect(rolledBack.status, rolledBack.failureReason ?? '').toBe('finished');
    expect(await currentRelease(staging)).toBe(first.releaseName);

    const live = await suite.stack.services.views.environment(name, 'staging');
    expect(live.liveCommit).toBe(a);
    expect(live.liveRelease).toBe(first.releaseName);

    const outcome = await suite.stack.services.promotions.promoteBetween(ADA, name, 'staging', 'production');
    expect(outcome.deployment.commitHash).toBe(a);
    const promoted = await suite.stack.waitFor(outcome.deployment.id, ended);
    expect(promoted.status, promoted.failureReason ?? '').toBe('finished');
    expect(await readFile(join(production, 'current', 'VERSION'), 'utf8')).toBe('1\n');

    const pipeline = await suite.stack.services.pipeline.pipeline(name);
    const stagingRow = pipeline.stages.flatMap((s) => s.environments).find((e) => e.name === 'staging');
    expect(stagingRow?.liveCommit).toBe(a);
  });

  it('builds the head again after a rollback: a manual build no longer says "nothing to build"', async () => {
    const { name, staging } = await twoStages();
    const [a, b] = suite.repo.commits as [string, string];
    await deploy(name, 'staging', a);
    await deploy(name, 'staging', 'main');
    const rollback = await suite.stack.deployments.requestRollback(ADA, {
      project: name,
      environment: 'staging',
    });
    expect((await suite.stack.waitFor(rollback.id, ended)).status).toBe('finished');

    const build = await suite.stack.services.promotions.manualBuild(ADA, name, 'staging');
    expect(build.commitHash).toBe(b);
    const built = await suite.stack.waitFor(build.id, ended);
    expect(built.status).toBe('finished');
    expect(await readFile(join(staging, 'current', 'VERSION'), 'utf8')).toBe('2\n');
    // Now the head is live, so a second build has nothing to do.
    await expect(suite.stack.services.promotions.manualBuild(ADA, name, 'staging')).rejects.toMatchObject({
      code: 'refused',
    });
  });

  it('stores the live release and commit on the environment, with the deployment that made them live', async () => {
    const { name } = await twoStages();
    const done = await deploy(name, 'staging', 'main');
    const row = await suite.stack.em().findOneOrFail(Environment, { project: { name }, name: 'staging' });
    expect(row.liveRelease).toBe(done.releaseName);
    expect(row.liveCommit).toBe(suite.repo.commits[1]);
    expect(row.liveDeployment?.id).toBe(done.id);
    expect(row.liveSince).toBeInstanceOf(Date);
  });
});
