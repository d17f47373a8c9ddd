import type { Collection } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  Environment,
  Hook,
  type IEnvironment,
  type IHook,
  type IProject,
  type IServer,
  Project,
  Server,
} from '../db/entities/index.js';
import { SlipwayError } from '../errors.js';
import { isUuid } from '../vocabulary.js';

// Finding the domain's objects by what people call them (names, or ids where the API allows),
// with not-found messages that name what does exist. Shared by every domain of the core.

/** Finds a project by name; when there is none, the message names the ones that exist. */
export async function findProject(em: EntityManager, name: string): Promise<IProject> {
  const project = await em.findOne(Project, { name });
  if (project) return project;
  const names = (await em.find(Project, {}, { fields: ['name'], orderBy: { name: 'asc' }, limit: 20 })).map(
    (p) => p.name,
  );
  throw new SlipwayError(
    'not_found',
    names.length
      ? `There is no project "${name}". Projects: ${names.join(', ')}.`
      : `There is no project "${name}", and no projects yet.`,
  );
}

export async function findEnvironment(
  em: EntityManager,
  project: IProject,
  name: string,
): Promise<IEnvironment> {
  const environment = await em.findOne(Environment, { project, name }, { populate: ['servers'] });
  if (environment) return environment;
  const names = (await em.find(Environment, { project }, { fields: ['name'], orderBy: { name: 'asc' } })).map(
    (e) => e.name,
  );
  throw new SlipwayError(
    'not_found',
    names.length
      ? `Project ${project.name} has no environment "${name}". Environments: ${names.join(', ')}.`
      : `Project ${project.name} has no environments yet.`,
  );
}

/** A project's server by id or name. */
export async function findServer(em: EntityManager, project: IProject, key: string): Promise<IServer> {
  const server = await em.findOne(Server, isUuid(key) ? { project, id: key } : { project, name: key });
  if (!server) throw new SlipwayError('not_found', `Project ${project.name} has no server "${key}".`);
  return server;
}

/** Servers by id or name, all of the same project; the message names every unknown one. */
export async function findServers(
  em: EntityManager,
  project: IProject,
  keys: readonly string[],
): Promise<IServer[]> {
  if (keys.length === 0) return [];
  const rows = await em.find(Server, { project });
  const found: IServer[] = [];
  const missing: string[] = [];
  for (const key of keys) {
    const server = rows.find((row) => row.id === key || row.name === key);
    if (server) {
      if (!found.includes(server)) found.push(server);
    } else missing.push(key);
  }
  if (missing.length) {
    throw new SlipwayError(
      'invalid_input',
      `Project ${project.name} has no server${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}.`,
      { field: 'servers' },
    );
  }
  return found;
}

/** A project's environment by id or name, with its servers. */
export async function findEnvironmentByKey(
  em: EntityManager,
  project: IProject,
  key: string,
): Promise<IEnvironment> {
  const environment = await em.findOne(
    Environment,
    isUuid(key) ? { project, id: key } : { project, name: key },
    { populate: ['servers'] },
  );
  if (!environment)
    throw new SlipwayError('not_found', `Project ${project.name} has no environment "${key}".`);
  return environment;
}

export async function findHook(em: EntityManager, project: IProject, id: string): Promise<IHook> {
  const hook = isUuid(id) ? await em.findOne(Hook, { project, id }, { populate: ['servers'] }) : null;
  if (!hook) throw new SlipwayError('not_found', `Project ${project.name} has no hook "${id}".`);
  return hook;
}

/**
 * Points `current` (an environment's or a hook's servers) at `servers`; true when that changed
 * the set, so callers audit and report only real changes.
 */
export function replaceServers(current: Collection<IServer>, servers: readonly IServer[]): boolean {
  const ids = (list: readonly IServer[]) =>
    list
      .map((s) => s.id)
      .sort()
      .join();
  if (ids(current.getItems()) === ids(servers)) return false;
  current.set([...servers]);
  return true;
}
export { isUuid };
