import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config.js';
import {
  Hook,
  type IDeployment,
  type IEnvironment,
  type IProject,
  type IServer,
  LinkedFolder,
} from '../../db/entities/index.js';
import {
  type ConnectionSettings,
  type DeploymentPlan,
  formatReleaseName,
  type PlanServer,
} from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import type { OutboundGuard } from '../../net/outbound-guard.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';

export function planServer(server: IServer): PlanServer {
  return {
    id: server.id,
    name: server.name,
    host: server.host,
    port: server.port,
    user: server.connectAs,
    deployPath: server.deployPath,
    transport: server.transport,
    hostKeyFingerprint: server.hostKeyFingerprint,
  };
}

/**
 * `<UTC yyyymmddHHMMSS>-<deployment number>`, the number zero-padded: releases sort by name on
 * the servers ("the one before" in rollback and purge), and two deployments started in the
 * same second must still sort in the order they were made — a random uuid would not.
 */
export function releaseNameFor(deployment: IDeployment, startedAt: Date): string {
  return formatReleaseName(startedAt, String(deployment.number).padStart(10, '0'));
}

/** Turns stored rows into the plain plan the engine runs; secrets are opened here, in memory only. */
export class DeploymentPlanBuilder {
  constructor(
    private readonly secrets: SecretBox,
    private readonly config: Pick<
      Config,
      'SLIPWAY_SERVER_CONCURRENCY' | 'SLIPWAY_COMMAND_TIMEOUT_MS' | 'SLIPWAY_SSH_CONNECT_TIMEOUT_MS'
    >,
    /** The proxy local servers fetch http(s) repositories through (the outbound guard's). */
    private readonly outbound: Pick<OutboundGuard, 'gitProxy'>,
  ) {}

  /** The deployment's environment's servers that receive code; populated by the caller. */
  servers(deployment: IDeployment): IServer[] {
    return this.serversOf(deployment.environment);
  }

  /** An environment's servers that receive code, by name; its `servers` populated by the caller. */
  serversOf(environment: IEnvironment): IServer[] {
    const servers = environment.servers.getItems().filter((server) => server.receivesCodeDeployments);
    if (servers.length === 0) {
      throw new SlipwayError(
        'invalid_input',
        `${environment.name} has no servers that receive code deployments.`,
      );
    }
    return servers.sort((a, b) => a.name.localeCompare(b.name));
  }

  connection(deployment: IDeployment): ConnectionSettings {
    return this.connectionFor(deployment.project);
  }

  /** How to reach a project's servers: its key (opened in memory only) and the timeouts. */
  connectionFor(project: IProject): ConnectionSettings {
    return {
      privateKey: this.secrets.open(project.sshPrivateKey, SECRET_PURPOSE.projectSshKey),
      concurrency: this.config.SLIPWAY_SERVER_CONCURRENCY,
      commandTimeoutMs: this.config.SLIPWAY_COMMAND_TIMEOUT_MS,
      connectTimeoutMs: this.config.SLIPWAY_SSH_CONNECT_TIMEOUT_MS,
    };
  }

  async deploymentPlan(em: EntityManager, deployment: IDeployment, startedAt: Date): Promise<DeploymentPlan> {
    const project = deployment.project;
    if (!deployment.commitHash) {
      throw new SlipwayError('invalid_input', `Deployment #${deployment.number} has no resolved commit.`);
    }
    const servers = this.servers(deployment);
    const [hooks, folders] = await Promise.all([
      em.find(Hook, { project }, { populate: ['servers'], orderBy: { sequence: 'asc', name: 'asc' } }),
      em.find(LinkedFolder, { project }, { orderBy: { from: 'asc' } }),
    ]);
    const envFile = project.environmentFile
      ? this.secrets.open(project.environmentFile, SECRET_PURPOSE.projectEnvironmentFile)
      : null;
    const gitProxy =
      /^https?:\/\//i.test(project.repository) && servers.some((server) => server.transport === 'local')
        ? await this.outbound.gitProxy()
        : null;
    return {
      gitProxy,
      ...this.connection(deployment),
      deploymentId: deployment.id,
      releaseName: deployment.releaseName ?? releaseNameFor(deployment, startedAt),
      repository: project.repository,
      commit: deployment.commitHash,
      servers: servers.map(planServer),
      linkedFolders: folders.map((folder) => ({ from: folder.from, to: folder.to })),
      envFile,
      installCommand: project.installCommand,
      hooks: hooks.map((hook) => ({
        id: hook.id,
        name: hook.name,
        script: hook.script,
        runAs: hook.runAs,
        action: hook.action,
        timing: hook.timing,
        order: hook.sequence,
        serverIds: hook.servers.length ? hook.servers.getItems().map((server) => server.id) : null,
      })),
      keepReleases: project.releasesToKeep,
      secrets: [],
    };
  }
}
