import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { notificationSenders } from '../../adapters/index.js';
import { buildServices } from '../../src/app/services.js';
import { loadConfig } from '../../src/config.js';
import type { Actor } from '../../src/core/access/index.js';
import { RunLiveness } from '../../src/core/deployments/index.js';
import { SECRET_PURPOSE, SecretBox } from '../../src/core/secrets/index.js';
import { Deployment, type IDeployment, type IProject, Project } from '../../src/db/entities/index.js';
import type { Orm } from '../../src/db/orm.js';
import { DeploymentQueue } from '../../src/jobs/deployment-queue.js';
import { NotificationQueue } from '../../src/jobs/notification-queue.js';
import { PipelineQueue } from '../../src/jobs/pipeline-queue.js';
import { type JobQueue, startJobQueue, stopJobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/logger.js';
import { createOutboundGuard } from '../../src/net/outbound-guard.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { createTestDatabase, openTestOrm, type TestDatabase } from './database.js';
import { reportGreen } from './fixtures.js';

/**
 * The fixture repository is owned by the SSH login user; let this process's git (and the child
 * processes it starts) read it too. git 2.39 honours safe.directory only from global config.
 */
export async function trustFixtureRepository(repositoryPath: string): Promise<void> {
  process.env.GIT_CONFIG_GLOBAL = join(repositoryPath, '..', 'gitconfig');
  await writeFile(process.env.GIT_CONFIG_GLOBAL, '[safe]\n\tdirectory = *\n');
}

export const ADA: Actor = { memberId: null, name: 'Ada', source: 'test' };

/** The core's deployment pieces wired as in main.ts, on a test database, in this process. */
export async function startDeployStack(
  database: TestDatabase,
  options: { work?: boolean; secretKey?: string; outboundFetch?: typeof fetch } = {},
) {
  const secretKey = options.secretKey ?? randomBytes(32).toString('base64');
  const gitCache = await mkdtemp(join(tmpdir(), 'slipway-git-cache-'));
  const config = loadConfig({
    SLIPWAY_GIT_CACHE_DIR: gitCache,
    DATABASE_URL: database.url,
    SLIPWAY_SECRET_KEY: secretKey,
    SLIPWAY_SSH_CONNECT_TIMEOUT_MS: '5000',
    // The platforms' and receivers' stand-ins listen on loopback (the default refuses it).
    SLIPWAY_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
  });
  const logger = createLogger({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent',
    LOG_FORMAT: 'json',
  });
  const secrets = SecretBox.fromBase64(secretKey);
  const orm: Orm = await openTestOrm(database);
  const boss: JobQueue = await startJobQueue(database.url, logger);
  const queue = new DeploymentQueue(boss);
  await queue.setup();
  const notifications = new NotificationQueue(boss);
  await notifications.setup();
  const pipelines = new PipelineQueue(boss);
  await pipelines.setup();
  const liveness = await RunLiveness.open(database.url, logger);
  // The outbound guard as the service builds it; a test may watch what goes out through its fetch.
  const strict = createOutboundGuard({ allow: config.SLIPWAY_ALLOW_PRIVATE_TARGETS });
  const watched = options.outboundFetch;
  const guard = watched
    ? { ...strict, fetch: ((input, init) => watched(input, init)) as typeof strict.fetch }
    : strict;
  // The services as the running Slipway builds them (no chat, no HTTP, no notification workers).
  const services = buildServices(
    {
      config,
      logger,
      orm,
      secrets,
      senders: notificationSenders(config),
      outbound: guard,
    },
    {
      deployments: queue,
      notifications,
      pipelines,
      liveness,
      instanceId: `test-${randomBytes(4).toString('hex')}`,
    },
  );
  const { executor, reaper, deployments, setup: projects } = services;
  if (options.work !== false) {
    await queue.work(4, (id) => executor.execute(id));
    await pipelines.work(2, (id) => services.pipelineRunner.advance(id));
  }

  return {
    secretKey,
    secrets,
    orm,
    /** Every service, as the running Slipway builds them (tokens, access, …). */
    services,
    deployments,
    projects,
    executor,
    reaper,
    em: () => orm.em.fork() as EntityManager,
    /** A project on `hosts` whose servers log in with the harness's client key. */
    async project(
      hosts: SshHosts,
      repository: string,
      setup: {
        name?: string;
        servers?: number;
        subPath?: string;
        installCommand?: string;
        envFile?: string;
        /** CI reports every commit green (the default), so production's test gate passes. */
        green?: boolean;
      } = {},
    ) {
      const em = orm.em.fork() as EntityManager;
      const project = await projects.createProject(em, ADA, {
        name: setup.name ?? `app-${randomBytes(3).toString('hex')}`,
        repository,
        installCommand: setup.installCommand ?? null,
        releasesToKeep: 3,
      });
      // The hosts trust the harness's client key; give the project that key instead of its own.
      project.sshPrivateKey = secrets.seal(hosts.clientPrivateKey, SECRET_PURPOSE.projectSshKey);
      await em.flush();
      const servers = [];
      for (const host of hosts.hosts.slice(0, setup.servers ?? hosts.hosts.length)) {
        const plan = host.server({ subPath: setup.subPath ?? project.name });
        servers.push(
          await projects.addServer(em, ADA, project, {
            name: `web-${host.index + 1}`,
            host: plan.host,
            port: plan.port,
            connectAs: plan.user,
            deployPath: plan.deployPath,
          }),
        );
      }
      const environment = await projects.createEnvironment(em, ADA, project, {
        name: 'production',
        tier: 'production',
        branch: 'main',
        servers,
      });
      if (setup.envFile) await projects.setEnvironmentFile(em, ADA, project, setup.envFile);
      if (setup.green !== false) await reportGreen(services.statuses, project.name, repository);
      return { project, servers, environment, deployPaths: servers.map((server) => server.deployPath) };
    },
    async waitFor(
      id: string,
      done: (deployment: IDeployment) => boolean,
      timeoutMs = 60_000,
    ): Promise<IDeployment> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const deployment = await orm.em.fork().findOneOrFail(Deployment, { id });
        if (done(deployment)) return deployment;
        if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${deployment.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async reload(project: IProject) {
      return orm.em.fork().findOneOrFail(Project, { id: project.id });
    },
    async stop() {
      executor.stopAll();
      await stopJobQueue(boss, 5000);
      await liveness.close();
      await orm.close(true);
      await rm(gitCache, { recursive: true, force: true });
    },
  };
}

export const ended = (deployment: IDeployment) =>
  !['queued', 'running', 'awaiting_approval'].includes(deployment.status);

export type DeployStack = Awaited<ReturnType<typeof startDeployStack>>;

/**
 * What an SSH integration suite runs against: a database of its own, `hostCount` real sshd hosts,
 * a fixture repository their user owns, and a deploy stack on them. `stop()` ends them in reverse.
 */
export async function startSshDeploySuite(hostCount: number) {
  const database = await createTestDatabase();
  const hosts = await startSshHosts(hostCount);
  const repo: FixtureRepository = await createFixtureRepository({ owner: hosts.user });
  await trustFixtureRepository(repo.path);
  const stack: DeployStack = await startDeployStack(database);
  return {
    database,
    hosts,
    repo,
    stack,
    async stop() {
      await stack.stop();
      await hosts.stopAll();
      await repo.cleanup();
      await database.drop();
    },
  };
}

export type SshDeploySuite = Awaited<ReturnType<typeof startSshDeploySuite>>;
