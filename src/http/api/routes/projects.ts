import { z } from 'zod';
import type { ProjectView } from '../../../core/projects/index.js';
import { REPOSITORY_PROVIDERS, TEST_GATE_MODES } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { gitRef, noContent, nullableTimestamp, projectParams, resourceName, timestamp } from '../schemas.js';

const folder = z.object({ from: z.string(), to: z.string() }).strict();

const projectJson = z
  .object({
    id: z.uuid(),
    name: z.string(),
    provider: z.enum(REPOSITORY_PROVIDERS),
    repository: z.string().describe('Credentials in the URL are masked'),
    github_repository: z
      .string()
      .nullable()
      .describe(
        'owner/name on GitHub: its pushes and CI results concern this project, its deployments are reported there',
      ),
    branch: z.string().describe('The default branch'),
    push_to_deploy: z.boolean(),
    retain_deployments: z.number().int().describe('Releases kept on each server'),
    install_command: z.string().nullable(),
    health_check_url: z.string().nullable(),
    rollback_on_health_failure: z.boolean(),
    test_gates: z.object({ staging: z.enum(TEST_GATE_MODES), production: z.enum(TEST_GATE_MODES) }).strict(),
    public_key: z.string().describe("The project's SSH public key: add it to each server's authorized_keys"),
    has_environment: z.boolean().describe('Whether an environment file is set (its contents need the key)'),
    folders: z.array(folder),
    servers: z.array(z.string()),
    environments: z.array(z.string()),
    last_deployment: z
      .object({
        id: z.uuid(),
        number: z.number().int(),
        environment: z.string(),
        status: z.string(),
        ref: z.string(),
        commit_hash: z.string().nullable(),
        commit_author: z.string().nullable(),
        requested_by: z.string(),
        created_at: timestamp,
        finished_at: nullableTimestamp,
      })
      .strict()
      .nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .strict();
apiSchemas.add(projectJson, { id: 'Project' });

function json(p: ProjectView): z.output<typeof projectJson> {
  return {
    id: p.id,
    name: p.name,
    provider: p.provider,
    repository: p.repository,
    github_repository: p.githubRepository,
    branch: p.branch,
    push_to_deploy: p.pushToDeploy,
    retain_deployments: p.releasesToKeep,
    install_command: p.installCommand,
    health_check_url: p.healthCheckUrl,
    rollback_on_health_failure: p.rollbackOnHealthFailure,
    test_gates: p.testGates,
    public_key: p.publicKey,
    has_environment: p.hasEnvironmentFile,
    folders: p.folders,
    servers: p.servers,
    environments: p.environments,
    last_deployment: p.lastDeployment
      ? {
          id: p.lastDeployment.id,
          number: p.lastDeployment.number,
          environment: p.lastDeployment.environment,
          status: p.lastDeployment.status,
          ref: p.lastDeployment.ref,
          commit_hash: p.lastDeployment.commit,
          commit_author: p.lastDeployment.author,
          requested_by: p.lastDeployment.requestedBy,
          created_at: p.lastDeployment.createdAt,
          finished_at: p.lastDeployment.finishedAt,
        }
      : null,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

const retain = z
  .number({ error: 'retain_deployments must be a number' })
  .int('retain_deployments must be a whole number')
  .min(2, 'retain_deployments must be at least 2')
  .max(100, 'retain_deployments must be at most 100');
const url = z.url({ error: 'must be a URL' }).max(2000).nullable();
const command = z.string().max(10_000).nullable();
const repository = z.string().trim().min(1, 'repository is required').max(2000);
const githubRepository = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, 'github_repository must be owner/name')
  .nullable()
  .describe('owner/name on GitHub; derived from a github.com repository URL when left out, null for none');
const provider = z.enum(REPOSITORY_PROVIDERS, {
  error: `provider must be one of ${REPOSITORY_PROVIDERS.join(', ')}`,
});

const testGatesJson = z
  .object({ testGateStaging: z.enum(TEST_GATE_MODES), testGateProduction: z.enum(TEST_GATE_MODES) })
  .strict();

const tags = ['Projects'];

export function registerProjectRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { projects } = deps;

  api.get('/projects', {
    schema: operation(
      { tags, summary: 'List the projects the token may view', role: 'any' },
      { response: { 200: z.object({ projects: z.array(projectJson) }).strict() } },
    ),
    handler: async (request) => ({ projects: (await projects.listVisibleTo(actorOf(request))).map(json) }),
  });

  api.post('/projects', {
    schema: operation(
      {
        tags,
        summary: 'Create a project (and its SSH key pair)',
        scope: 'projects:create',
        role: 'global admin',
        action: 'create projects',
      },
      {
        body: z
          .object({
            name: resourceName('name'),
            repository,
            provider: provider.optional(),
            github_repository: githubRepository.optional(),
            branch: gitRef('branch').optional(),
            retain_deployments: retain.optional(),
            install_command: command.optional(),
            health_check_url: url.optional(),
            rollback_on_health_failure: z.boolean().optional(),
            push_to_deploy: z.boolean().optional(),
          })
          .strict(),
        response: { 201: z.object({ project: projectJson }).strict() },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const b = request.body;
      const created = await projects.create(actor, {
        name: b.name,
        repository: b.repository,
        ...(b.provider ? { provider: b.provider } : {}),
        ...(b.github_repository !== undefined ? { githubRepository: b.github_repository } : {}),
        ...(b.branch ? { branch: b.branch } : {}),
        releasesToKeep: b.retain_deployments,
        installCommand: b.install_command,
        healthCheckUrl: b.health_check_url,
        rollbackOnHealthFailure: b.rollback_on_health_failure,
        pushToDeploy: b.push_to_deploy,
      });
      reply.code(201);
      return { project: json(created) };
    },
  });

  api.get('/projects/:project', {
    schema: operation(
      { tags, summary: 'Get a project', role: 'viewer' },
      { params: projectParams, response: { 200: z.object({ project: projectJson }).strict() } },
    ),
    handler: async (request) => {
      return { project: json(await projects.get(request.params.project)) };
    },
  });

  api.put('/projects/:project', {
    schema: operation(
      {
        tags,
        summary: 'Update a project',
        scope: 'projects:create',
        role: 'admin',
        action: 'change the project',
      },
      {
        params: projectParams,
        body: z
          .object({
            name: resourceName('name').optional(),
            retain_deployments: retain.optional(),
            install_command: command.optional(),
            health_check_url: url.optional(),
            rollback_on_health_failure: z.boolean().optional(),
          })
          .strict(),
        response: { 200: z.object({ project: projectJson }).strict() },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const b = request.body;
      const updated = await projects.update(actor, request.params.project, {
        name: b.name,
        releasesToKeep: b.retain_deployments,
        installCommand: b.install_command,
        healthCheckUrl: b.health_check_url,
        rollbackOnHealthFailure: b.rollback_on_health_failure,
      });
      return { project: json(updated) };
    },
  });

  api.put('/projects/:project/source', {
    schema: operation(
      {
        tags,
        summary: "Update a project's source",
        scope: 'projects:create',
        role: 'admin',
        action: 'change the project',
      },
      {
        params: projectParams,
        body: z
          .object({
            provider: provider.optional(),
            repository: repository.optional(),
            github_repository: githubRepository.optional(),
            branch: gitRef('branch').optional(),
            push_to_deploy: z.boolean().optional(),
          })
          .strict(),
        response: { 200: z.object({ project: projectJson }).strict() },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const b = request.body;
      const updated = await projects.updateSource(actor, request.params.project, {
        provider: b.provider,
        repository: b.repository,
        githubRepository: b.github_repository,
        branch: b.branch,
        pushToDeploy: b.push_to_deploy,
      });
      return { project: json(updated) };
    },
  });

  api.delete('/projects/:project', {
    schema: operation(
      {
        tags,
        summary: 'Delete a project and everything it owns',
        description: 'Refused (400) while one of its deployments is queued or running.',
        scope: 'projects:delete',
        role: 'admin',
        action: 'delete the project',
      },
      { params: projectParams, response: { 204: noContent } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      await projects.remove(actor, request.params.project);
      return reply.code(204).send();
    },
  });

  api.get('/projects/:project/key', {
    schema: operation(
      { tags, summary: "The project's SSH public key", role: 'viewer' },
      { params: projectParams, response: { 200: z.object({ public_key: z.string() }).strict() } },
    ),
    handler: async (request) => {
      return { public_key: (await projects.get(request.params.project)).publicKey };
    },
  });

  const folders = z.object({ folders: z.array(folder) }).strict();
  const folderBody = z
    .object({
      from: z.string().min(1, 'from is required').max(255),
      to: z.string().min(1, 'to is required').max(255),
    })
    .strict();

  api.get('/projects/:project/folders', {
    schema: operation(
      { tags: ['Linked folders'], summary: 'List linked folders', role: 'viewer' },
      { params: projectParams, response: { 200: folders } },
    ),
    handler: async (request) => {
      return { folders: await projects.folders(request.params.project) };
    },
  });

  api.post('/projects/:project/folders', {
    schema: operation(
      {
        tags: ['Linked folders'],
        summary: 'Link a folder of each release to shared/',
        scope: 'projects:create',
        role: 'admin',
        action: 'change linked folders',
      },
      { params: projectParams, body: folderBody, response: { 201: folders } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const list = await projects.addFolder(actor, request.params.project, request.body);
      reply.code(201);
      return { folders: list };
    },
  });

  api.delete('/projects/:project/folders', {
    schema: operation(
      {
        tags: ['Linked folders'],
        summary: 'Remove a linked folder',
        scope: 'projects:create',
        role: 'admin',
        action: 'change linked folders',
      },
      {
        params: projectParams,
        body: z
          .object({
            from: z.string().min(1, 'from is required').max(255),
            to: z.string().max(255).optional(),
          })
          .strict(),
        response: { 200: folders },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      return { folders: await projects.removeFolder(actor, request.params.project, request.body) };
    },
  });

  api.get('/projects/:project/test-gates', {
    schema: operation(
      {
        tags: ['Promotions'],
        summary: 'Test gate settings for staging and production promotions',
        role: 'viewer',
      },
      { params: projectParams, response: { 200: testGatesJson } },
    ),
    handler: async (request) => {
      const gates = await projects.testGates(request.params.project);
      return { testGateStaging: gates.staging, testGateProduction: gates.production };
    },
  });

  api.put('/projects/:project/test-gates', {
    schema: operation(
      {
        tags: ['Promotions'],
        summary: 'Update the test gate settings',
        description:
          '`block`: a promotion to that tier needs the commit to have passed its tests; `warn`: it may go on after confirming.',
        scope: 'projects:create',
        role: 'admin',
        action: 'change test gates',
      },
      { params: projectParams, body: testGatesJson, response: { 200: testGatesJson } },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const gates = await projects.setTestGates(actor, request.params.project, {
        staging: request.body.testGateStaging,
        production: request.body.testGateProduction,
      });
      return { testGateStaging: gates.staging, testGateProduction: gates.production };
    },
  });
}
