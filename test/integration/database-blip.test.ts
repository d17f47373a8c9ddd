import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { migrate, openOrm } from '../../src/db/orm.js';
import { createLogger } from '../../src/logger.js';
import { currentRelease, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import type { TestDatabase } from '../support/database.js';
import { ADA, ended, startDeployStack, trustFixtureRepository } from '../support/deploy-stack.js';
import { freePort, runSlipway, type ServiceProcess, waitForStatus } from '../support/service-process.js';

const OUTAGE_MS = 10_000;

/**
 * PostgreSQL goes away for 10 s in the middle of a deploy (a throwaway cluster of this test's
 * own, never the machine's shared one). The running service must not reap its own healthy run:
 * the run ends truthfully (finished, every step recorded), the liveness connection comes back,
 * and the next deploy to that environment runs.
 */
describe.skipIf(skipSshSuites)('a database blip during a deploy', () => {
  let dataDir: string;
  let port: number;
  let embedded: EmbeddedDatabase;
  let database: TestDatabase;
  let pool: pg.Pool;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let stack: Awaited<ReturnType<typeof startDeployStack>>;
  let service: ServiceProcess | undefined;
  const logger = createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'slipway-blip-pg-'));
    port = await freePort();
    embedded = await startEmbeddedPostgres({ dataDir, port, logger });
    const orm = await openOrm(embedded.url, { poolMax: 1 });
    await migrate(orm);
    await orm.close(true);
    pool = new pg.Pool({ connectionString: embedded.url, max: 2 });
    pool.on('error', () => undefined);
    database = {
      name: 'slipway',
      url: embedded.url,
      query: async (sql, params) => (await pool.query(sql, params as unknown[])).rows,
      drop: async () => undefined,
    };
    hosts = await startSshHosts(2);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustFixtureRepository(repo.path);
    stack = await startDeployStack(database, { work: false });
  }, 120_000);
  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await stack?.stop().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await embedded?.stop();
    await hosts?.stopAll();
    await repo?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('the run ends truthfully, the service keeps going, and the next deploy runs', async () => {
    const { project, deployPaths } = await stack.project(hosts, repo.path);
    const httpPort = await freePort();
    service = runSlipway(['start'], {
      DATABASE_URL: embedded.url,
      SLIPWAY_SECRET_KEY: stack.secretKey,
      PORT: String(httpPort),
      GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL ?? '',
      LOG_LEVEL: 'info',
    });
    await waitForStatus(`http://127.0.0.1:${httpPort}/readyz`, 200, 60_000, service);
    const first = await stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    expect((await stack.waitFor(first.id, ended)).status).toBe('finished');

    // A deploy that outlasts the outage: its install runs for 16 s on both servers.
    const slow = await stack.reload(project);
    slow.installCommand = 'sleep 16';
    await stack.em().upsert(slow);
    const blipped = await stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    for (let i = 0; i < 300; i++) {
      const rows = await database.query<{ n: number }>(
        "select count(*)::int as n from deployment_steps where deployment_id = $1 and name = 'Install dependencies' and status = 'running'",
        [blipped.id],
      );
      if (rows[0]?.n === deployPaths.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    await embedded.stop();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    embedded = await startEmbeddedPostgres({ dataDir, port, logger });

    const done = await stack.waitFor(blipped.id, ended, 90_000);
    expect(service.child.exitCode, service.output().slice(-3000)).toBeNull();
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(done.failureCode).toBeNull();
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(done.releaseName);
      expect(await releasesOn(path)).toContain(done.releaseName);
    }
    const steps = await database.query<{ status: string }>(
      'select status from deployment_steps where deployment_id = $1',
      [blipped.id],
    );
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.filter((step) => step.status !== 'finished')).toEqual([]);
    expect(service.output()).toContain('liveness connection back');
    expect(service.output()).not.toContain('interrupted deployment reaped');

    // The environment is not stuck: the next deploy is taken and runs.
    slow.installCommand = null;
    await stack.em().upsert(slow);
    const next = await stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    const after = await stack.waitFor(next.id, ended, 60_000);
    expect(after.status, after.failureReason ?? '').toBe('finished');
  }, 180_000);
});
