import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentStep, Server } from '../../src/db/entities/index.js';
import { isSlipwayError } from '../../src/errors.js';
import { currentRelease, releasesOn } from '../harness/deploy-fixtures.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { ADA, ended, type SshDeploySuite, startSshDeploySuite } from '../support/deploy-stack.js';

/**
 * The deployment flow through the core: request → durable queue → executor → engine over real
 * OpenSSH → rows in the real PostgreSQL.
 */
describe.skipIf(skipSshSuites)('deployments through the core', () => {
  let suite: SshDeploySuite;
  beforeAll(async () => {
    suite = await startSshDeploySuite(3);
  });
  afterAll(() => suite?.stop());

  it('deploys the resolved commit to every server, records each step and pins host keys', async () => {
    const { project, deployPaths, servers } = await suite.stack.project(suite.hosts, suite.repo.path, {
      envFile: 'APP_KEY=sup3r-s3cret-value\n',
    });
    const requested = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    expect(requested.status).toBe('queued');
    expect(requested.commitHash).toBe(suite.repo.commits.at(-1));

    const done = await suite.stack.waitFor(requested.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(done.releaseName).toMatch(new RegExp(`^\\d{14}-${String(done.number).padStart(10, '0')}$`));
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(done.releaseName);
      expect(await readFile(join(path, 'current', 'VERSION'), 'utf8')).toBe('2\n');
      expect((await stat(join(path, 'shared', '.env'))).mode & 0o777).toBe(0o600);
    }

    const em = suite.stack.em();
    const steps = await em.find(
      DeploymentStep,
      { deployment: done.id },
      { orderBy: { serverName: 'asc', position: 'asc' } },
    );
    expect(new Set(steps.map((step) => step.serverName))).toEqual(new Set(['web-1', 'web-2', 'web-3']));
    expect(steps.every((step) => step.status === 'finished')).toBe(true);
    const pinned = await em.find(Server, { id: { $in: servers.map((server) => server.id) } });
    expect(pinned.map((server) => server.hostKeyFingerprint).sort()).toEqual(
      suite.hosts.hosts.map((host) => host.hostKeyFingerprint).sort(),
    );
    const rows = await suite.database.query('select output from deployment_steps where deployment_id = $1', [
      done.id,
    ]);
    expect(JSON.stringify(rows)).not.toContain('sup3r-s3cret-value');
  });

  it('refuses unsafe refs before anything is queued', async () => {
    const { project } = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 1 });
    for (const ref of ['main;rm -rf /', '--upload-pack=x', '$(id)', '../x']) {
      const attempt = suite.stack.deployments.requestDeploy(ADA, {
        project: project.name,
        environment: 'production',
        ref,
      });
      await expect(attempt).rejects.toMatchObject({ code: 'unsafe_ref' });
    }
    const rows = await suite.database.query(
      'select count(*)::int as n from deployments where project_id = $1',
      [project.id],
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('lets one of two simultaneous deploys to an environment through and refuses the other', async () => {
    const { project } = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 1 });
    const results = await Promise.allSettled([
      suite.stack.deployments.requestDeploy(ADA, { project: project.name, environment: 'production' }),
      suite.stack.deployments.requestDeploy(ADA, { project: project.name, environment: 'production' }),
    ]);
    const accepted = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result) => result.status === 'rejected');
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const error = (refused[0] as PromiseRejectedResult).reason;
    expect(isSlipwayError(error, 'environment_busy')).toBe(true);
    expect(error.message).toMatch(/production is busy/);
    const done = await suite.stack.waitFor(
      (accepted[0] as PromiseFulfilledResult<{ id: string }>).value.id,
      ended,
    );
    expect(done.status).toBe('finished');
    // The slot is free again.
    const next = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    expect((await suite.stack.waitFor(next.id, ended)).status).toBe('finished');
  });

  it('cancels a running deployment before activation: nobody switched, the new release removed', async () => {
    const { project, deployPaths } = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 2 });
    const first = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    const live = (await suite.stack.waitFor(first.id, ended)).releaseName;

    const em = suite.stack.em();
    const reloaded = await suite.stack.reload(project);
    reloaded.installCommand = 'sleep 30';
    await em.upsert(reloaded);
    const slow = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    await suite.stack.waitFor(
      slow.id,
      (deployment) => deployment.status === 'running' && deployment.releaseName !== null,
    );
    // Wait until install is under way on the servers.
    for (let i = 0; i < 100; i++) {
      const rows = await suite.database.query(
        "select 1 from deployment_steps where deployment_id = $1 and name ilike '%install%' and status = 'running'",
        [slow.id],
      );
      if (rows.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const asked = Date.now();
    await suite.stack.deployments.cancel(ADA, String(slow.number));
    const cancelled = await suite.stack.waitFor(slow.id, ended, 20_000);
    expect(cancelled.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(10_000);
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(live);
      expect(await releasesOn(path)).toEqual([live]);
    }
  });

  it('rolls back to the previous release on every server, recorded as a rollback', async () => {
    const { project, deployPaths } = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 3 });
    const releases: string[] = [];
    for (const ref of [suite.repo.commits[0]!, 'main']) {
      const requested = await suite.stack.deployments.requestDeploy(ADA, {
        project: project.name,
        environment: 'production',
        ref,
      });
      const done = await suite.stack.waitFor(requested.id, ended);
      expect(done.status).toBe('finished');
      releases.push(done.releaseName!);
    }
    const rollback = await suite.stack.deployments.requestRollback(ADA, {
      project: project.name,
      environment: 'production',
    });
    expect(rollback.kind).toBe('rollback');
    const done = await suite.stack.waitFor(rollback.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(done.releaseName).toBe(releases[0]);
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(releases[0]);
      expect(await readFile(join(path, 'current', 'VERSION'), 'utf8')).toBe('1\n');
    }
  });

  it('refuses a server whose host key changed, with a clear reason, and switches nobody', async () => {
    const { project, deployPaths } = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 3 });
    const first = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    const live = (await suite.stack.waitFor(first.id, ended)).releaseName;
    await suite.hosts.restartHostWithNewKey(2);
    try {
      const second = await suite.stack.deployments.requestDeploy(ADA, {
        project: project.name,
        environment: 'production',
      });
      const done = await suite.stack.waitFor(second.id, ended);
      expect(done.status).toBe('failed');
      expect(done.failureCode).toBe('host_key_mismatch');
      expect(done.failureReason).toMatch(/host key/i);
      for (const path of deployPaths) expect(await currentRelease(path)).toBe(live);
    } finally {
      // Later tests pin the new key afresh (new projects, new servers).
    }
  });

  it('rolls back by itself when the health check fails after activation, if the project asks for it', async () => {
    const { project, deployPaths } = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 2 });
    const first = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
      ref: suite.repo.commits[0]!,
    });
    const live = (await suite.stack.waitFor(first.id, ended)).releaseName;

    let probes = 0;
    const unhealthy = createServer((_request, response) => {
      probes++;
      response.writeHead(503).end('down');
    });
    await new Promise<void>((resolve) => unhealthy.listen(0, '127.0.0.1', resolve));
    const { port } = unhealthy.address() as AddressInfo;
    try {
      const reloaded = await suite.stack.reload(project);
      reloaded.healthCheckUrl = `http://127.0.0.1:${port}/health`;
      reloaded.rollbackOnHealthFailure = true;
      await suite.stack.em().upsert(reloaded);

      const second = await suite.stack.deployments.requestDeploy(ADA, {
        project: project.name,
        environment: 'production',
      });
      const done = await suite.stack.waitFor(second.id, ended);
      expect(done.status).toBe('failed');
      expect(done.failureCode).toBe('health_check_failed');
      expect(done.failureReason).toMatch(new RegExp(`HTTP 503 .*Rolled back to ${live}`));
      expect(probes).toBe(3);
      for (const path of deployPaths) expect(await currentRelease(path)).toBe(live);
    } finally {
      unhealthy.close();
    }
  });
});
