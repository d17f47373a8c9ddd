import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type Slipway, startSlipway } from '../../src/app/start.js';
import { loadConfig } from '../../src/config.js';
import type { Actor } from '../../src/core/access/index.js';
import { SECRET_PURPOSE } from '../../src/core/secrets/index.js';
import { Deployment, type IDeployment } from '../../src/db/entities/index.js';
import { createLogger } from '../../src/logger.js';
import type { Role } from '../../src/vocabulary.js';
import type { SshHosts } from '../harness/sshd.js';
import type { TestDatabase } from './database.js';
import { reportGreen } from './fixtures.js';

const SETUP: Actor = { memberId: null, name: 'setup', source: 'test' };

/** The fixture repository belongs to the SSH login user; let our git read it (safe.directory). */
export async function trustRepository(repositoryPath: string): Promise<void> {
  process.env.GIT_CONFIG_GLOBAL = join(repositoryPath, '..', 'gitconfig');
  await writeFile(process.env.GIT_CONFIG_GLOBAL, '[safe]\n\tdirectory = *\n');
}

/** A whole Slipway (main.ts) in this process, on a test database, with the given settings. */
export async function startChatSlipway(database: TestDatabase, env: Record<string, string>) {
  // Each stack reads commit messages through a git cache of its own, removed at the end.
  const gitCache = await mkdtemp(join(tmpdir(), 'slipway-git-cache-'));
  const config = loadConfig({
    SLIPWAY_GIT_CACHE_DIR: gitCache,
    DATABASE_URL: database.url,
    SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64'),
    PORT: '0',
    SLIPWAY_SSH_CONNECT_TIMEOUT_MS: '5000',
    // The platforms' and receivers' stand-ins listen on loopback (the default refuses it).
    SLIPWAY_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    ...env,
  });
  const logger = createLogger({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent',
    LOG_FORMAT: 'json',
  });
  const slipway: Slipway = await startSlipway(config, logger);
  const address = slipway.http.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const em = () => slipway.database.orm.em.fork() as EntityManager;
  return {
    slipway,
    url: `http://127.0.0.1:${port}`,
    em,
    /** A project with one environment on the SSH hosts (servers log in with the harness key). */
    async project(
      hosts: SshHosts,
      repository: string,
      setup: {
        name: string;
        environments: {
          name: string;
          tier?: 'production' | 'staging';
          approvals?: number;
          ttlMinutes?: number;
        }[];
        /** CI reports every commit green (the default), so test gates pass. */
        green?: boolean;
      },
    ) {
      const { setup: projects } = slipway.services;
      const manager = em();
      const project = await projects.createProject(manager, SETUP, {
        name: setup.name,
        repository,
        releasesToKeep: 3,
      });
      project.sshPrivateKey = slipway.secrets.seal(hosts.clientPrivateKey, SECRET_PURPOSE.projectSshKey);
      await manager.flush();
      const host = hosts.hosts[0];
      if (!host) throw new Error('no SSH host');
      const plan = host.server({ subPath: setup.name });
      const server = await projects.addServer(manager, SETUP, project, {
        name: 'web-1',
        host: plan.host,
        port: plan.port,
        connectAs: plan.user,
        deployPath: plan.deployPath,
      });
      for (const environment of setup.environments) {
        const created = await projects.createEnvironment(manager, SETUP, project, {
          name: environment.name,
          tier: environment.tier ?? 'staging',
          branch: 'main',
          servers: [server],
          approvalsRequired: environment.approvals ?? 0,
        });
        if (environment.ttlMinutes) created.approvalTtlMinutes = environment.ttlMinutes;
      }
      await manager.flush();
      if (setup.green !== false) await reportGreen(slipway.services.statuses, setup.name, repository);
      return { project, deployPath: plan.deployPath };
    },
    /** Grants a role directly (the chat path for grants is tested on its own). */
    async grant(
      project: string,
      identity: { platform: 'slack' | 'web'; workspace: string; userId: string; name: string },
      role: Role,
    ) {
      const { access } = slipway.services;
      const admin = await access.resolve({
        platform: 'web',
        workspace: 'local',
        userId: 'root-admin',
        displayName: 'root',
      });
      const m = em();
      await m
        .getConnection()
        .execute(`update members set global_role = 'admin' where id = ?`, [admin.memberId]);
      await access.grant(
        admin,
        project,
        {
          platform: identity.platform,
          workspace: identity.workspace,
          userId: identity.userId,
          displayName: identity.name,
        },
        role,
      );
    },
    async deployments(projectName: string): Promise<IDeployment[]> {
      return em().find(Deployment, { project: { name: projectName } }, { orderBy: { number: 'asc' } });
    },
    async waitFor(id: string, done: (d: IDeployment) => boolean, timeoutMs = 60_000): Promise<IDeployment> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const d = await em().findOneOrFail(Deployment, { id });
        if (done(d)) return d;
        if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${d.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop: async () => {
      await slipway.stop();
      await rm(gitCache, { recursive: true, force: true });
    },
  };
}
