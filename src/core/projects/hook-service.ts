import { Hook, type IHook } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import type { HookAction, HookTiming } from '../../vocabulary.js';
import { type Actor, recordAudit } from '../access/index.js';
import { findHook, findProject, findServers, replaceServers } from '../lookup.js';
import type { ProjectSetup } from './project-setup.js';

export interface HookView {
  id: string;
  project: string;
  name: string;
  script: string;
  runAs: string | null;
  action: HookAction;
  timing: HookTiming;
  sequence: number;
  /** Server names; empty means every server. */
  servers: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface HookInput {
  name: string;
  script: string;
  action: HookAction;
  timing: HookTiming;
  sequence?: number;
  runAs?: string | null;
  /** Server names or ids; none means every server. */
  servers?: string[];
}

const RUN_AS = /^[a-z_][a-z0-9_-]{0,31}$/i;

/** Deployment hooks (Envoyer's): scripts run before or after an action, on some or all servers. */
export class HookService {
  constructor(
    private readonly orm: Orm,
    private readonly setup: ProjectSetup,
  ) {}

  async list(projectName: string): Promise<HookView[]> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const hooks = await em.find(
      Hook,
      { project },
      { populate: ['servers'], orderBy: { action: 'asc', timing: 'asc', sequence: 'asc', name: 'asc' } },
    );
    return hooks.map((hook) => view(project.name, hook));
  }

  async get(projectName: string, id: string): Promise<HookView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    return view(project.name, await findHook(em, project, id));
  }

  async create(actor: Actor, projectName: string, input: HookInput): Promise<HookView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const servers = await findServers(em, project, input.servers ?? []);
    const hook = await this.setup.addHook(em, actor, project, { ...input, servers });
    return view(project.name, hook);
  }

  async update(actor: Actor, projectName: string, id: string, patch: Partial<HookInput>): Promise<HookView> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const hook = await findHook(em, project, id);
    await this.setup.requireHostPrivilege(em, actor, project, 'change the hooks of');
    const changed: string[] = [];
    const set = <K extends 'name' | 'script' | 'action' | 'timing' | 'sequence' | 'runAs'>(
      key: K,
      value: IHook[K] | undefined,
    ) => {
      if (value !== undefined && value !== hook[key]) {
        hook[key] = value;
        changed.push(key);
      }
    };
    if (patch.runAs && !RUN_AS.test(patch.runAs)) {
      throw new SlipwayError(
        'invalid_input',
        `run_as ${JSON.stringify(patch.runAs)} is not a valid user name.`,
      );
    }
    set('name', patch.name);
    set('script', patch.script);
    set('action', patch.action);
    set('timing', patch.timing);
    set('sequence', patch.sequence);
    set('runAs', patch.runAs);
    if (patch.servers !== undefined) {
      if (replaceServers(hook.servers, await findServers(em, project, patch.servers))) {
        changed.push('servers');
      }
    }
    if (changed.length) {
      recordAudit(em, actor, {
        action: 'hook.update',
        result: 'ok',
        projectId: project.id,
        targetType: 'hook',
        targetId: hook.id,
        details: { changed },
      });
      await em.flush();
    }
    return view(project.name, hook);
  }

  async remove(actor: Actor, projectName: string, id: string): Promise<void> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const hook = await findHook(em, project, id);
    await this.setup.requireHostPrivilege(em, actor, project, 'delete the hooks of');
    em.remove(hook);
    recordAudit(em, actor, {
      action: 'hook.delete',
      result: 'ok',
      projectId: project.id,
      targetType: 'hook',
      targetId: hook.id,
      details: { name: hook.name },
    });
    await em.flush();
  }
}

function view(project: string, hook: IHook): HookView {
  return {
    id: hook.id,
    project,
    name: hook.name,
    script: hook.script,
    runAs: hook.runAs ?? null,
    action: hook.action,
    timing: hook.timing,
    sequence: hook.sequence,
    servers: hook.servers
      .getItems()
      .map((server) => server.name)
      .sort(),
    createdAt: hook.createdAt,
    updatedAt: hook.updatedAt,
  };
}
