import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import {
  Deployment,
  Environment,
  type IProject,
  LinkedFolder,
  Project,
  ProjectRole,
  Server,
  type TestGates,
} from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { validateRef, validateRepository } from '../../engine/index.js';
import { SlipwayError } from '../../errors.js';
import { ACTIVE_DEPLOYMENT_STATUSES, type RepositoryProvider } from '../../vocabulary.js';
import { type AccessPolicy, type Actor, recordAudit } from '../access/index.js';
import { findProject } from '../lookup.js';
import { checkName, type ProjectSetup } from './project-setup.js';
import { checkGithubRepository, githubRepositoryOf, maskRepositoryUrl } from './repository-url.js';

export interface ProjectView {
  id: string;
  name: string;
  provider: RepositoryProvider;
  /** Credentials in the URL are masked. */
  repository: string;
  /** `owner/name` on GitHub: pushes and CI results from there concern this project. */
  githubRepository: string | null;
  branch: string;
  pushToDeploy: boolean;
  releasesToKeep: number;
  installCommand: string | null;
  healthCheckUrl: string | null;
  rollbackOnHealthFailure: boolean;
  testGates: TestGates;
  publicKey: string;
  hasEnvironmentFile: boolean;
  folders: { from: string; to: string }[];
  servers: string[];
  environments: string[];
  lastDeployment: {
    id: string;
    number: number;
    environment: string;
    status: string;
    ref: string;
    commit: string | null;
    author: string | null;
    requestedBy: string;
    createdAt: Date;
    finishedAt: Date | null;
  } | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProjectInput {
  name: string;
  repository: string;
  provider?: RepositoryProvider;
  branch?: string;
  releasesToKeep?: number;
  installCommand?: string | null;
  healthCheckUrl?: string | null;
  rollbackOnHealthFailure?: boolean;
  pushToDeploy?: boolean;
  testGates?: TestGates;
  /** Derived from a GitHub `repository` URL when left out; null: not on GitHub. */
  githubRepository?: string | null;
}

export type ProjectPatch = Partial<
  Pick<
    ProjectInput,
    'name' | 'releasesToKeep' | 'installCommand' | 'healthCheckUrl' | 'rollbackOnHealthFailure'
  >
>;

export type SourcePatch = Partial<
  Pick<ProjectInput, 'provider' | 'repository' | 'branch' | 'pushToDeploy' | 'githubRepository'>
>;

/** Projects (Envoyer's): list, get, create, update, source, delete, linked folders, test gates. */
export class ProjectService {
  constructor(
    private readonly orm: Orm,
    private readonly setup: ProjectSetup,
    private readonly access: AccessPolicy,
    /** Told after a project's GitHub repository was set or changed (reporting channels follow it). */
    private readonly onGithubRepositoryChanged?: () => Promise<void>,
  ) {}

  /** The projects the member may view: all of them with a global role, else those with a project role. */
  async listVisibleTo(actor: Actor): Promise<ProjectView[]> {
    const em = this.orm.em.fork();
    const global = await this.access.roleOf(em, actor.memberId, null);
    let projects: IProject[];
    if (global) projects = await em.find(Project, {}, { orderBy: { name: 'asc' } });
    else if (actor.memberId) {
      const roles = await em.find(ProjectRole, { member: actor.memberId }, { populate: ['project'] });
      projects = roles.map((role) => role.project).sort((a, b) => a.name.localeCompare(b.name));
    } else projects = [];
    return Promise.all(projects.map((project) => this.view(em, project)));
  }

  async get(projectName: string): Promise<ProjectView> {
    const em = this.orm.em.fork();
    return this.view(em, await findProject(em, projectName));
  }

  /** The raw record, for `slipway apply` to compare against (never leaves the process). */
  async record(projectName: string): Promise<IProject | null> {
    return this.orm.em.fork().findOne(Project, { name: projectName });
  }

  async create(actor: Actor, input: ProjectInput): Promise<ProjectView> {
    const em = this.orm.em.fork();
    const project = await this.setup.createProject(em, actor, {
      name: input.name,
      repository: input.repository,
      ...(input.provider ? { provider: input.provider } : {}),
      ...(input.branch ? { defaultBranch: input.branch } : {}),
      ...(input.releasesToKeep !== undefined ? { releasesToKeep: input.releasesToKeep } : {}),
      ...(input.installCommand !== undefined ? { installCommand: input.installCommand } : {}),
      ...(input.healthCheckUrl !== undefined ? { healthCheckUrl: input.healthCheckUrl } : {}),
      ...(input.rollbackOnHealthFailure !== undefined
        ? { rollbackOnHealthFailure: input.rollbackOnHealthFailure }
        : {}),
      ...(input.pushToDeploy !== undefined ? { pushToDeploy: input.pushToDeploy } : {}),
      ...(input.testGates ? { testGates: input.testGates } : {}),
      ...(input.githubRepository !== undefined ? { githubRepository: input.githubRepository } : {}),
    });
    if (project.githubRepository) await this.onGithubRepositoryChanged?.();
    return this.view(em, project);
  }

  async update(actor: Actor, projectName: string, patch: ProjectPatch): Promise<ProjectView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const changed: string[] = [];
    if (patch.name !== undefined && patch.name !== project.name) {
      project.name = checkName('Project', patch.name);
      changed.push('name');
    }
    if (patch.releasesToKeep !== undefined && patch.releasesToKeep !== project.releasesToKeep) {
      if (!Number.isInteger(patch.releasesToKeep) || patch.releasesToKeep < 2 || patch.releasesToKeep > 100) {
        throw new SlipwayError('invalid_input', 'releases_to_keep must be between 2 and 100.');
      }
      project.releasesToKeep = patch.releasesToKeep;
      changed.push('releasesToKeep');
    }
    if (patch.installCommand !== undefined && patch.installCommand !== project.installCommand) {
      await this.setup.requireHostPrivilege(em, actor, project, 'change the install command of');
      project.installCommand = patch.installCommand;
      changed.push('installCommand');
    }
    if (patch.healthCheckUrl !== undefined && patch.healthCheckUrl !== project.healthCheckUrl) {
      project.healthCheckUrl = patch.healthCheckUrl;
      changed.push('healthCheckUrl');
    }
    if (
      patch.rollbackOnHealthFailure !== undefined &&
      patch.rollbackOnHealthFailure !== project.rollbackOnHealthFailure
    ) {
      project.rollbackOnHealthFailure = patch.rollbackOnHealthFailure;
      changed.push('rollbackOnHealthFailure');
    }
    await this.save(em, actor, project, 'project.update', changed, patch.name);
    return this.view(em, project);
  }

  /** Envoyer's "update project source": provider, repository, default branch, push to deploy. */
  async updateSource(actor: Actor, projectName: string, patch: SourcePatch): Promise<ProjectView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const changed: string[] = [];
    if (patch.provider !== undefined && patch.provider !== project.provider) {
      project.provider = patch.provider;
      changed.push('provider');
    }
    // A repository that was derived from the URL follows the URL; one set by hand stays.
    let githubRepository = project.githubRepository ?? null;
    const derived = githubRepository === githubRepositoryOf(project.repository);
    if (patch.repository !== undefined && patch.repository !== project.repository) {
      await this.setup.requireHostPrivilege(em, actor, project, 'change the repository of');
      project.repository = validateRepository(patch.repository);
      changed.push('repository');
      if (derived) githubRepository = githubRepositoryOf(project.repository);
    }
    if (patch.githubRepository !== undefined) {
      githubRepository =
        patch.githubRepository === null ? null : checkGithubRepository(patch.githubRepository);
    }
    if (githubRepository !== (project.githubRepository ?? null)) {
      project.githubRepository = githubRepository;
      changed.push('githubRepository');
    }
    if (patch.branch !== undefined && patch.branch !== project.defaultBranch) {
      project.defaultBranch = validateRef(patch.branch);
      changed.push('branch');
    }
    if (patch.pushToDeploy !== undefined && patch.pushToDeploy !== project.pushToDeploy) {
      project.pushToDeploy = patch.pushToDeploy;
      changed.push('pushToDeploy');
    }
    await this.save(em, actor, project, 'project.source.update', changed);
    if (changed.includes('githubRepository')) await this.onGithubRepositoryChanged?.();
    return this.view(em, project);
  }

  async testGates(projectName: string): Promise<TestGates> {
    return (await findProject(this.orm.em.fork(), projectName)).testGates;
  }

  async setTestGates(actor: Actor, projectName: string, gates: Partial<TestGates>): Promise<TestGates> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const next = { ...project.testGates, ...gates };
    if (next.staging !== project.testGates.staging || next.production !== project.testGates.production) {
      recordAudit(em, actor, {
        action: 'project.test_gates.update',
        result: 'ok',
        projectId: project.id,
        targetType: 'project',
        targetId: project.id,
        details: { from: project.testGates, to: next },
      });
      project.testGates = next;
      await em.flush();
    }
    return next;
  }

  /** Deletes the project and everything it owns; refused while one of its deployments runs. */
  async remove(actor: Actor, projectName: string): Promise<void> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const active = await em.findOne(Deployment, {
      project,
      status: { $in: [...ACTIVE_DEPLOYMENT_STATUSES] },
    });
    if (active) {
      throw new SlipwayError(
        'refused',
        `Deployment #${active.number} of ${project.name} is ${active.status}; delete the project when it ends.`,
      );
    }
    // Plain ids in the audit row: the log outlives the project.
    recordAudit(em, actor, {
      action: 'project.delete',
      result: 'ok',
      projectId: project.id,
      targetType: 'project',
      targetId: project.id,
      details: { name: project.name },
    });
    await em.flush();
    await em.nativeDelete(Project, { id: project.id });
  }

  async folders(projectName: string): Promise<{ from: string; to: string }[]> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const rows = await em.find(LinkedFolder, { project }, { orderBy: { from: 'asc' } });
    return rows.map((row) => ({ from: row.from, to: row.to }));
  }

  async addFolder(actor: Actor, projectName: string, folder: { from: string; to: string }) {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    await this.setup.addLinkedFolder(em, actor, project, folder);
    return this.folders(projectName);
  }

  /** Removes the link for `from` (and, when `to` is given, only if it points there). */
  async removeFolder(actor: Actor, projectName: string, folder: { from: string; to?: string | undefined }) {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const row = await em.findOne(LinkedFolder, {
      project,
      from: folder.from,
      ...(folder.to !== undefined ? { to: folder.to } : {}),
    });
    if (!row) {
      throw new SlipwayError('not_found', `Project ${project.name} has no linked folder ${folder.from}.`);
    }
    await this.setup.requireHostPrivilege(em, actor, project, 'change the linked folders of');
    em.remove(row);
    recordAudit(em, actor, {
      action: 'linked_folder.delete',
      result: 'ok',
      projectId: project.id,
      details: { from: row.from, to: row.to },
    });
    await em.flush();
    return this.folders(project.name);
  }

  private async save(
    em: EntityManager,
    actor: Actor,
    project: IProject,
    action: string,
    changed: string[],
    newName?: string,
  ): Promise<void> {
    if (changed.length === 0) return;
    recordAudit(em, actor, {
      action,
      result: 'ok',
      projectId: project.id,
      targetType: 'project',
      targetId: project.id,
      details: { changed },
    });
    await withConstraintErrors(() => em.flush(), {
      projects_name_unique: `A project named ${newName} already exists.`,
      projects_releases_to_keep_check: 'releases_to_keep must be between 2 and 100.',
    });
  }

  private async view(em: EntityManager, project: IProject): Promise<ProjectView> {
    const [folders, servers, environments, last] = await Promise.all([
      em.fork().find(LinkedFolder, { project: project.id }, { orderBy: { from: 'asc' } }),
      em.fork().find(Server, { project: project.id }, { orderBy: { name: 'asc' }, fields: ['name'] }),
      em.fork().find(Environment, { project: project.id }, { orderBy: { name: 'asc' }, fields: ['name'] }),
      em
        .fork()
        .findOne(
          Deployment,
          { project: project.id },
          { orderBy: { createdAt: 'desc' }, populate: ['environment'] },
        ),
    ]);
    return {
      id: project.id,
      name: project.name,
      provider: project.provider,
      repository: maskRepositoryUrl(project.repository),
      githubRepository: project.githubRepository ?? null,
      branch: project.defaultBranch,
      pushToDeploy: project.pushToDeploy,
      releasesToKeep: project.releasesToKeep,
      installCommand: project.installCommand ?? null,
      healthCheckUrl: project.healthCheckUrl ?? null,
      rollbackOnHealthFailure: project.rollbackOnHealthFailure,
      testGates: project.testGates,
      publicKey: project.sshPublicKey,
      hasEnvironmentFile: !!project.environmentFile,
      folders: folders.map((f) => ({ from: f.from, to: f.to })),
      servers: servers.map((s) => s.name),
      environments: environments.map((e) => e.name),
      lastDeployment: last
        ? {
            id: last.id,
            number: last.number,
            environment: last.environment.name,
            status: last.status,
            ref: last.ref,
            commit: last.commitHash ?? null,
            author: last.commitAuthor ?? null,
            requestedBy: last.requestedByName,
            createdAt: last.createdAt,
            finishedAt: last.finishedAt ?? null,
          }
        : null,
      createdAt: project.createdAt,
      updatedAt: project.updatedAt,
    };
  }
}
