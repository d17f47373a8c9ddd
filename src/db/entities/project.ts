import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { REPOSITORY_PROVIDERS, type TestGateMode } from '../../vocabulary.js';
import { createdAt, updatedAt, uuidPrimaryKey } from './common.js';

export interface TestGates {
  staging: TestGateMode;
  production: TestGateMode;
}

export const Project = defineEntity({
  name: 'Project',
  tableName: 'projects',
  // Pushes and CI results are matched to projects by repository.
  indexes: [{ properties: ['githubRepository'] }],
  properties: {
    id: uuidPrimaryKey(),
    name: p.string().length(100).unique(),
    repository: p.text(),
    provider: p.enum(REPOSITORY_PROVIDERS).default('git'),
    /**
     * The repository on GitHub (`owner/name`, lowercased: GitHub's names are case-insensitive)
     * whose pushes and CI results concern this project, and where its deployments are reported.
     * Derived from a GitHub `repository` URL; set by hand for mirrors, local paths and GitHub Enterprise.
     */
    githubRepository: p.string().length(200).nullable(),
    defaultBranch: p.string().length(255).default('main'),
    releasesToKeep: p.integer().default(5).check('releases_to_keep >= 2 and releases_to_keep <= 100'),
    pushToDeploy: p.boolean().default(false),
    installCommand: p.text().nullable(),
    /** Sealed with SecretBox (purpose `project.env`); decrypted only in memory. */
    environmentFile: p.text().nullable().hidden(),
    /** scrypt hash of the environment key (Envoyer's): reading the file over the API needs it. */
    environmentKeyHash: p.text().nullable().hidden(),
    /** Sealed with SecretBox (purpose `project.ssh_key`). */
    sshPrivateKey: p.text().hidden(),
    sshPublicKey: p.text(),
    healthCheckUrl: p.text().nullable(),
    rollbackOnHealthFailure: p.boolean().default(false),
    testGates: p.json<TestGates>().default('{"staging":"warn","production":"block"}'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type IProject = InferEntity<typeof Project>;

export const LinkedFolder = defineEntity({
  name: 'LinkedFolder',
  tableName: 'linked_folders',
  uniques: [{ properties: ['project', 'from'] }],
  properties: {
    id: uuidPrimaryKey(),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    /** Path inside the release that becomes a link … */
    from: p.string().length(500),
    /** … to this path inside `shared/`. */
    to: p.string().length(500),
    createdAt: createdAt(),
  },
});
export type ILinkedFolder = InferEntity<typeof LinkedFolder>;
