import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import {
  Environment,
  Hook,
  type IEnvironment,
  type IProject,
  type IServer,
  LinkedFolder,
  Project,
  Server,
  type TestGates,
} from '../../db/entities/index.js';
import {
  generateProjectKeyPair,
  validateLinkedFolder,
  validateRef,
  validateRepository,
  validateServer,
} from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import type {
  CommitBehaviour,
  EnvironmentTier,
  HookAction,
  HookTiming,
  RepositoryProvider,
  Role,
  ServerTransport,
} from '../../vocabulary.js';
import { type AccessPolicy, type Actor, recordAudit } from '../access/index.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import { checkGithubRepository, githubRepositoryOf } from './repository-url.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/i;

export type AutoStopSetting = 'always' | 'with_action';

export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) {
    throw new SlipwayError(
      'invalid_input',
      `${kind} name ${JSON.stringify(name)} is not valid: use letters, digits, ".", "_" or "-" (at most 100), starting with a letter or digit.`,
    );
  }
  return name;
}

/**
 * Creating and changing what deployments are made of: projects (with their SSH key pair),
 * servers, environments, hooks, linked folders and the environment file. The REST API, the
 * chat commands and `slipway apply` all come through here.
 */
export class ProjectSetup {
  constructor(
    private readonly secrets: SecretBox,
    private readonly access: AccessPolicy,
  ) {}

  /**
   * Whatever runs on the Slipway host is a global admin's to change (DESIGN.md §6): the hooks,
   * install command, environment file, linked folders, repository and paths of a project with a
   * `local` server, and a server becoming or being local. `local` says the change itself makes the
   * project's code run on the host. An actor with no member — the CLI (`slipway apply`), holding
   * the database's own authority, or Slipway itself — may.
   */
  async requireHostPrivilege(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    what: string,
    local = false,
  ): Promise<void> {
    if (actor.memberId === null) return;
    const runsOnHost = local || (await em.count(Server, { project, transport: 'local' })) > 0;
    if (!runsOnHost) return;
    const held = await this.access.roleOf(em, actor.memberId, null);
    if (held === 'admin') return;
    recordAudit(em, actor, {
      action: 'access.refused',
      result: 'refused',
      projectId: project.id,
      details: { needed: 'global admin', what },
    });
    await em.flush();
    throw new SlipwayError(
      'forbidden',
      `Only a global admin can ${what} ${project.name}: it has a local server, so this runs on the Slipway host itself.`,
    );
  }

  async createProject(
    em: EntityManager,
    actor: Actor,
    input: {
      name: string;
      repository: string;
      provider?: RepositoryProvider;
      defaultBranch?: string;
      releasesToKeep?: number;
      installCommand?: string | null;
      healthCheckUrl?: string | null;
      rollbackOnHealthFailure?: boolean;
      pushToDeploy?: boolean;
      testGates?: TestGates;
      /** `owner/name` on GitHub; derived from a GitHub `repository` URL when left out, none when null. */
      githubRepository?: string | null;
    },
  ) {
    checkName('Project', input.name);
    validateRepository(input.repository);
    const githubRepository =
      input.githubRepository === undefined
        ? githubRepositoryOf(input.repository)
        : input.githubRepository === null
          ? null
          : checkGithubRepository(input.githubRepository);
    if (input.defaultBranch) validateRef(input.defaultBranch);
    const keys = generateProjectKeyPair(input.name);
    const project = em.create(Project, {
      name: input.name,
      repository: input.repository,
      provider: input.provider ?? 'git',
      githubRepository,
      defaultBranch: input.defaultBranch ?? 'main',
      releasesToKeep: input.releasesToKeep ?? 5,
      installCommand: input.installCommand ?? null,
      healthCheckUrl: input.healthCheckUrl ?? null,
      rollbackOnHealthFailure: input.rollbackOnHealthFailure ?? false,
      pushToDeploy: input.pushToDeploy ?? false,
      // Set here, not left to the column default: a new entity would hold the default's JSON text.
      testGates: input.testGates ?? { staging: 'warn', production: 'block' },
      sshPrivateKey: this.secrets.seal(keys.privateKey, SECRET_PURPOSE.projectSshKey),
      sshPublicKey: keys.publicKey,
    });
    recordAudit(em, actor, {
      action: 'project.create',
      result: 'ok',
      projectId: project.id,
      targetType: 'project',
      targetId: project.id,
    });
    await withConstraintErrors(() => em.flush(), {
      projects_name_unique: `A project named ${input.name} already exists.`,
    });
    return project;
  }

  async addServer(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    input: {
      name: string;
      host: string;
      port?: number;
      connectAs: string;
      deployPath: string;
      transport?: ServerTransport;
      receivesCodeDeployments?: boolean;
    },
  ) {
    checkName('Server', input.name);
    if (input.transport === 'local')
      await this.requireHostPrivilege(em, actor, project, 'add a local server to', true);
    if (!input.deployPath.startsWith('/')) {
      throw new SlipwayError(
        'invalid_input',
        `The deploy path ${JSON.stringify(input.deployPath)} must be absolute.`,
      );
    }
    const fields = {
      name: input.name,
      host: input.host,
      port: input.port ?? 22,
      connectAs: input.connectAs,
      deployPath: input.deployPath.replace(/\/+$/, '') || '/',
      transport: input.transport ?? 'ssh',
      receivesCodeDeployments: input.receivesCodeDeployments ?? true,
    };
    validateServer({ ...fields, id: 'new', user: fields.connectAs });
    const server = em.create(Server, { project, ...fields });
    recordAudit(em, actor, {
      action: 'server.create',
      result: 'ok',
      projectId: project.id,
      targetType: 'server',
      targetId: server.id,
    });
    await withConstraintErrors(() => em.flush(), {
      servers_project_id_name_unique: `Project ${project.name} already has a server named ${input.name}.`,
    });
    return server;
  }

  async createEnvironment(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    input: {
      name: string;
      tier?: EnvironmentTier;
      branch?: string;
      servers?: IServer[];
      approvalsRequired?: number;
      approverRole?: Role;
      approvalTtlMinutes?: number;
      externalUrl?: string | null;
      healthCheckUrl?: string | null;
      description?: string | null;
      autoStopSetting?: AutoStopSetting;
      autoStopAt?: Date | null;
      commitBehaviour?: CommitBehaviour;
      clonedFrom?: IEnvironment | null;
      autoDestroy?: boolean;
    },
  ) {
    checkName('Environment', input.name);
    const branch = validateRef(input.branch ?? project.defaultBranch);
    const environment = em.create(Environment, {
      project,
      name: input.name,
      slug: input.name
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .slice(0, 64),
      tier: input.tier ?? 'other',
      branch,
      approvalsRequired: input.approvalsRequired ?? 0,
      approverRole: input.approverRole ?? 'approver',
      approvalTtlMinutes: input.approvalTtlMinutes ?? 30,
      externalUrl: input.externalUrl ?? null,
      healthCheckUrl: input.healthCheckUrl ?? null,
      description: input.description ?? null,
      autoStopSetting: input.autoStopSetting ?? 'always',
      autoStopAt: input.autoStopAt ?? null,
      commitBehaviour: input.commitBehaviour ?? 'do_nothing',
      clonedFrom: input.clonedFrom ?? null,
      autoDestroy: input.autoDestroy ?? false,
    });
    for (const server of input.servers ?? []) environment.servers.add(server);
    recordAudit(em, actor, {
      action: 'environment.create',
      result: 'ok',
      projectId: project.id,
      targetType: 'environment',
      targetId: environment.id,
    });
    await withConstraintErrors(() => em.flush(), {
      environments_project_id_name_unique: `Project ${project.name} already has an environment named ${input.name}.`,
      environments_project_id_slug_unique: `Project ${project.name} already has an environment named like ${input.name}.`,
      environments_approvals_required_check: 'approvals_required must be between 0 and 10.',
      environments_approval_ttl_minutes_check: 'approval_ttl_minutes must be between 1 and 10080.',
    });
    return environment;
  }

  async addHook(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    input: {
      name: string;
      script: string;
      action: HookAction;
      timing: HookTiming;
      sequence?: number;
      runAs?: string | null;
      servers?: IServer[];
    },
  ) {
    await this.requireHostPrivilege(em, actor, project, 'add hooks to');
    if (input.runAs && !/^[a-z_][a-z0-9_-]{0,31}$/i.test(input.runAs)) {
      throw new SlipwayError(
        'invalid_input',
        `run_as ${JSON.stringify(input.runAs)} is not a valid user name.`,
      );
    }
    const hook = em.create(Hook, {
      project,
      name: input.name,
      script: input.script,
      action: input.action,
      timing: input.timing,
      sequence: input.sequence ?? 0,
      runAs: input.runAs ?? null,
    });
    for (const server of input.servers ?? []) hook.servers.add(server);
    recordAudit(em, actor, {
      action: 'hook.create',
      result: 'ok',
      projectId: project.id,
      targetType: 'hook',
      targetId: hook.id,
    });
    await em.flush();
    return hook;
  }

  async addLinkedFolder(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    input: { from: string; to: string },
  ) {
    await this.requireHostPrivilege(em, actor, project, 'change the linked folders of');
    const { from, to } = validateLinkedFolder(input);
    const folder = em.create(LinkedFolder, { project, from, to });
    recordAudit(em, actor, {
      action: 'linked_folder.create',
      result: 'ok',
      projectId: project.id,
      details: { from: input.from },
    });
    await withConstraintErrors(() => em.flush(), {
      linked_folders_project_id_from_unique: `Project ${project.name} already links ${input.from}.`,
    });
    return folder;
  }

  /** The environment file is sealed at once; only its keys are audited, never its values. */
  async setEnvironmentFile(em: EntityManager, actor: Actor, project: IProject, contents: string) {
    await this.requireHostPrivilege(em, actor, project, 'change the environment file of');
    project.environmentFile = this.secrets.seal(contents, SECRET_PURPOSE.projectEnvironmentFile);
    const keys = contents
      .split('\n')
      .map((line) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1])
      .filter((key): key is string => Boolean(key));
    recordAudit(em, actor, {
      action: 'project.environment_file.update',
      result: 'ok',
      projectId: project.id,
      details: { keys },
    });
    await em.flush();
  }
}
