import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import { Deployment, Environment, type IServer, Server } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { validateServer } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import { ACTIVE_DEPLOYMENT_STATUSES, type ServerTransport } from '../../vocabulary.js';
import { type Actor, recordAudit } from '../access/index.js';
import { planServer } from '../deployments/index.js';
import { findProject, findServer } from '../lookup.js';
import { checkName, type ProjectSetup } from './project-setup.js';

export interface ServerView {
  id: string;
  project: string;
  name: string;
  host: string;
  port: number;
  connectAs: string;
  deployPath: string;
  transport: ServerTransport;
  receivesCodeDeployments: boolean;
  connectionStatus: IServer['connectionStatus'];
  connectionCheckedAt: Date | null;
  hostKeyFingerprint: string | null;
  /** The project's public key: what the server's authorized_keys must hold. */
  publicKey: string;
  environments: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ServerInput {
  name: string;
  host: string;
  port?: number;
  connectAs: string;
  deployPath: string;
  transport?: ServerTransport;
  receivesCodeDeployments?: boolean;
}

/** A project's servers (Envoyer's): list, get, create, update, delete. Roles are the caller's. */
export class ServerService {
  constructor(
    private readonly orm: Orm,
    private readonly setup: ProjectSetup,
  ) {}

  async list(projectName: string): Promise<ServerView[]> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const servers = await em.find(Server, { project }, { orderBy: { name: 'asc' } });
    return this.views(em, servers);
  }

  async get(projectName: string, key: string): Promise<ServerView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const [view] = await this.views(em, [await findServer(em, project, key)]);
    return view!;
  }

  async create(actor: Actor, projectName: string, input: ServerInput): Promise<ServerView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const server = await this.setup.addServer(em, actor, project, input);
    const [view] = await this.views(em, [server]);
    return view!;
  }

  /** A new host or port is a new machine: its pinned host key and connection status are reset. */
  async update(
    actor: Actor,
    projectName: string,
    key: string,
    patch: Partial<ServerInput>,
  ): Promise<ServerView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const server = await findServer(em, project, key);
    if (server.transport === 'local' || patch.transport === 'local') {
      await this.setup.requireHostPrivilege(em, actor, project, 'change a local server of', true);
    }
    const changed = applyPatch(server, patch);
    if (changed.length) {
      if (changed.some((field) => ['host', 'port', 'transport'].includes(field))) {
        server.hostKeyFingerprint = null;
        server.connectionStatus = 'unknown';
        server.connectionCheckedAt = null;
      }
      validateServer(planServer(server));
      recordAudit(em, actor, {
        action: 'server.update',
        result: 'ok',
        projectId: project.id,
        targetType: 'server',
        targetId: server.id,
        details: { changed },
      });
      await withConstraintErrors(() => em.flush(), {
        servers_project_id_name_unique: `Project ${project.name} already has a server named ${patch.name}.`,
      });
    }
    const [view] = await this.views(em, [server]);
    return view!;
  }

  /** Refused while a deployment to an environment the server serves is queued or running. */
  async remove(actor: Actor, projectName: string, key: string): Promise<void> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const server = await findServer(em, project, key);
    const active = await em.findOne(Deployment, {
      status: { $in: [...ACTIVE_DEPLOYMENT_STATUSES] },
      environment: { servers: server },
    });
    if (active) {
      throw new SlipwayError(
        'refused',
        `Deployment #${active.number} is ${active.status} on ${server.name}; remove the server when it ends.`,
      );
    }
    em.remove(server);
    recordAudit(em, actor, {
      action: 'server.delete',
      result: 'ok',
      projectId: project.id,
      targetType: 'server',
      targetId: server.id,
      details: { name: server.name },
    });
    await em.flush();
  }

  private async views(em: EntityManager, servers: IServer[]): Promise<ServerView[]> {
    if (servers.length === 0) return [];
    const project = servers[0]!.project;
    await em.populate(servers, ['project']);
    const environments = await em.find(
      Environment,
      { project, servers: { $in: servers.map((s) => s.id) } },
      { populate: ['servers'], orderBy: { name: 'asc' } },
    );
    return servers.map((server) => ({
      id: server.id,
      project: server.project.name,
      name: server.name,
      host: server.host,
      port: server.port,
      connectAs: server.connectAs,
      deployPath: server.deployPath,
      transport: server.transport,
      receivesCodeDeployments: server.receivesCodeDeployments,
      connectionStatus: server.connectionStatus,
      connectionCheckedAt: server.connectionCheckedAt ?? null,
      hostKeyFingerprint: server.hostKeyFingerprint ?? null,
      publicKey: server.project.sshPublicKey,
      environments: environments
        .filter((environment) => environment.servers.getItems().some((s) => s.id === server.id))
        .map((environment) => environment.name),
      createdAt: server.createdAt,
      updatedAt: server.updatedAt,
    }));
  }
}

function applyPatch(server: IServer, patch: Partial<ServerInput>): string[] {
  const changed: string[] = [];
  if (patch.name !== undefined && patch.name !== server.name) {
    server.name = checkName('Server', patch.name);
    changed.push('name');
  }
  if (patch.host !== undefined && patch.host !== server.host) {
    server.host = patch.host;
    changed.push('host');
  }
  if (patch.port !== undefined && patch.port !== server.port) {
    server.port = patch.port;
    changed.push('port');
  }
  if (patch.connectAs !== undefined && patch.connectAs !== server.connectAs) {
    server.connectAs = patch.connectAs;
    changed.push('connectAs');
  }
  if (patch.deployPath !== undefined) {
    if (!patch.deployPath.startsWith('/')) {
      throw new SlipwayError(
        'invalid_input',
        `The deploy path ${JSON.stringify(patch.deployPath)} must be absolute.`,
      );
    }
    const deployPath = patch.deployPath.replace(/\/+$/, '') || '/';
    if (deployPath !== server.deployPath) {
      server.deployPath = deployPath;
      changed.push('deployPath');
    }
  }
  if (patch.transport !== undefined && patch.transport !== server.transport) {
    server.transport = patch.transport;
    changed.push('transport');
  }
  if (
    patch.receivesCodeDeployments !== undefined &&
    patch.receivesCodeDeployments !== server.receivesCodeDeployments
  ) {
    server.receivesCodeDeployments = patch.receivesCodeDeployments;
    changed.push('receivesCodeDeployments');
  }
  return changed;
}
