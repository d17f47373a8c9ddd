import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { IProject } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import { type Actor, recordAudit } from '../access/index.js';
import { findProject } from '../lookup.js';
import { SECRET_PURPOSE, type SecretBox } from '../secrets/index.js';
import type { ProjectSetup } from './project-setup.js';

const derive = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;
const KEY_LENGTH = 32;

/**
 * Envoyer's environment file: its contents are sealed at rest like every secret, and reading
 * them back over the API takes the project's environment key, which Slipway keeps only as a
 * scrypt hash. The first update sets the key; later updates must give it; a reset wipes the
 * contents and sets a new key (for when the key is lost).
 */
export class EnvironmentFileService {
  constructor(
    private readonly orm: Orm,
    private readonly secrets: SecretBox,
    private readonly setup: ProjectSetup,
  ) {}

  /** Every read is audited, and so is every wrong key (someone guessing). */
  async read(actor: Actor, projectName: string, key: string): Promise<string> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const audit = async (result: 'ok' | 'refused') => {
      recordAudit(em, actor, {
        action: 'project.environment_file.read',
        result,
        projectId: project.id,
        targetType: 'project',
        targetId: project.id,
      });
      await em.flush();
    };
    try {
      await this.verify(project, key);
    } catch (error) {
      await audit('refused');
      throw error;
    }
    await audit('ok');
    return project.environmentFile
      ? this.secrets.open(project.environmentFile, SECRET_PURPOSE.projectEnvironmentFile)
      : '';
  }

  /** Whether a key is set and whether there are contents; never the contents. */
  async status(projectName: string): Promise<{ keySet: boolean; hasContents: boolean }> {
    const project = await findProject(this.orm.em.fork(), projectName);
    return { keySet: !!project.environmentKeyHash, hasContents: !!project.environmentFile };
  }

  async update(actor: Actor, projectName: string, key: string, contents: string): Promise<void> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    await this.setup.requireHostPrivilege(em, actor, project, 'change the environment file of');
    if (project.environmentKeyHash) {
      try {
        await this.verify(project, key);
      } catch (error) {
        recordAudit(em, actor, {
          action: 'project.environment_file.update',
          result: 'refused',
          projectId: project.id,
          details: { reason: 'wrong key' },
        });
        await em.flush();
        throw error;
      }
    } else project.environmentKeyHash = await hashKey(key);
    await this.setup.setEnvironmentFile(em, actor, project, contents);
  }

  async reset(actor: Actor, projectName: string, newKey: string): Promise<void> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    await this.setup.requireHostPrivilege(em, actor, project, 'reset the environment file of');
    project.environmentFile = null;
    project.environmentKeyHash = await hashKey(newKey);
    recordAudit(em, actor, {
      action: 'project.environment_file.reset',
      result: 'ok',
      projectId: project.id,
      targetType: 'project',
      targetId: project.id,
    });
    await em.flush();
  }

  private async verify(project: IProject, key: string): Promise<void> {
    if (!project.environmentKeyHash) {
      throw new SlipwayError(
        'refused',
        `${project.name} has no environment key yet: set one by updating the environment file with a key.`,
      );
    }
    if (!(await keyMatches(key, project.environmentKeyHash))) {
      throw new SlipwayError('forbidden', `That is not ${project.name}'s environment key.`);
    }
  }
}

export async function hashKey(key: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(key, salt, KEY_LENGTH);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function keyMatches(key: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(key, Buffer.from(salt, 'base64url'), expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
