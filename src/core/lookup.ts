import type { EntityManager } from '@mikro-orm/postgresql';
import { Environment, type IEnvironment, type IProject, Project } from '../db/entities/index.js';
import { SlipwayError } from '../errors.js';

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
