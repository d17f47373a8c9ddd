import { z } from 'zod';
import type { ServerView } from '../../../core/projects/index.js';
import { CONNECTION_STATUSES, SERVER_TRANSPORTS } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { noContent, nullableTimestamp, projectParams, resourceName, timestamp } from '../schemas.js';

const serverJson = z
  .object({
    id: z.uuid(),
    project: z.string(),
    name: z.string(),
    host: z.string(),
    port: z.number().int(),
    connect_as: z.string(),
    deployment_path: z.string(),
    transport: z.enum(SERVER_TRANSPORTS),
    receives_code_deployments: z.boolean(),
    connection_status: z.enum(CONNECTION_STATUSES),
    connection_checked_at: nullableTimestamp,
    host_key_fingerprint: z
      .string()
      .nullable()
      .describe('Pinned on first contact; a different key is refused'),
    public_key: z.string().describe("The project's public key, for the server's authorized_keys"),
    environments: z.array(z.string()),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .strict();
apiSchemas.add(serverJson, { id: 'Server' });

export function serverJsonOf(s: ServerView): z.output<typeof serverJson> {
  return {
    id: s.id,
    project: s.project,
    name: s.name,
    host: s.host,
    port: s.port,
    connect_as: s.connectAs,
    deployment_path: s.deployPath,
    transport: s.transport,
    receives_code_deployments: s.receivesCodeDeployments,
    connection_status: s.connectionStatus,
    connection_checked_at: s.connectionCheckedAt,
    host_key_fingerprint: s.hostKeyFingerprint,
    public_key: s.publicKey,
    environments: s.environments,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

/** Envoyer's server payload (camelCase, as Envoyer takes it). */
const serverFields = {
  name: resourceName('name'),
  host: z
    .string({ error: 'host is required' })
    .min(1, 'host is required')
    .max(255)
    .regex(/^[A-Za-z0-9._:[\]-]+$/, 'host must be a host name or an IP address'),
  port: z
    .number({ error: 'port must be a number' })
    .int('port must be a whole number')
    .min(1, 'port must be between 1 and 65535')
    .max(65535, 'port must be between 1 and 65535'),
  connectAs: z
    .string({ error: 'connectAs is required' })
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'connectAs must be a user name'),
  deploymentPath: z
    .string({ error: 'deploymentPath is required' })
    .max(1000)
    .regex(/^\/./, 'deploymentPath must be an absolute path (and not "/")'),
  transport: z
    .enum(SERVER_TRANSPORTS, { error: `transport must be one of ${SERVER_TRANSPORTS.join(', ')}` })
    .describe('`local` runs on the Slipway host itself (global admins only)'),
  receivesCodeDeployments: z.boolean(),
};

const serverParams = projectParams.extend({ server: z.string().min(1).max(100) }).strict();
const one = z.object({ server: serverJson }).strict();
const tags = ['Servers'];

export function registerServerRoutes(api: ApiInstance, deps: ApiDeps): void {
  // The local transport runs commands on the Slipway host: the server service lets only global
  // admins add, change or switch to a local server (and change what such a project runs).
  const { servers } = deps;

  api.get('/projects/:project/servers', {
    schema: operation(
      { tags, summary: 'List servers', role: 'viewer' },
      { params: projectParams, response: { 200: z.object({ servers: z.array(serverJson) }).strict() } },
    ),
    handler: async (request) => {
      return { servers: (await servers.list(request.params.project)).map(serverJsonOf) };
    },
  });

  api.get('/projects/:project/servers/:server', {
    schema: operation(
      { tags, summary: 'Get a server (by name or id)', role: 'viewer' },
      { params: serverParams, response: { 200: one } },
    ),
    handler: async (request) => {
      return { server: serverJsonOf(await servers.get(request.params.project, request.params.server)) };
    },
  });

  api.post('/projects/:project/servers', {
    schema: operation(
      { tags, summary: 'Create a server', scope: 'servers:create', role: 'admin', action: 'add servers' },
      {
        params: projectParams,
        body: z
          .object({
            ...serverFields,
            port: serverFields.port.optional(),
            host: serverFields.host.optional(),
            connectAs: serverFields.connectAs.optional(),
            transport: serverFields.transport.optional(),
            receivesCodeDeployments: serverFields.receivesCodeDeployments.optional(),
          })
          .strict()
          .superRefine((body, ctx) => {
            if ((body.transport ?? 'ssh') !== 'ssh') return;
            if (!body.host) ctx.addIssue({ code: 'custom', path: ['host'], message: 'host is required' });
            if (!body.connectAs)
              ctx.addIssue({ code: 'custom', path: ['connectAs'], message: 'connectAs is required' });
          }),
        response: { 201: one },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const b = request.body;
      const created = await servers.create(actor, request.params.project, {
        name: b.name,
        host: b.host ?? 'localhost',
        connectAs: b.connectAs ?? 'slipway',
        deployPath: b.deploymentPath,
        port: b.port,
        transport: b.transport,
        receivesCodeDeployments: b.receivesCodeDeployments,
      });
      reply.code(201);
      return { server: serverJsonOf(created) };
    },
  });

  api.put('/projects/:project/servers/:server', {
    schema: operation(
      {
        tags,
        summary: 'Update a server',
        description: 'A new host, port or transport resets the pinned host key and the connection status.',
        scope: 'servers:create',
        role: 'admin',
        action: 'change servers',
      },
      {
        params: serverParams,
        body: z.object(serverFields).partial().strict(),
        response: { 200: one },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const b = request.body;
      const updated = await servers.update(actor, request.params.project, request.params.server, {
        name: b.name,
        host: b.host,
        port: b.port,
        connectAs: b.connectAs,
        deployPath: b.deploymentPath,
        transport: b.transport,
        receivesCodeDeployments: b.receivesCodeDeployments,
      });
      return { server: serverJsonOf(updated) };
    },
  });

  api.delete('/projects/:project/servers/:server', {
    schema: operation(
      {
        tags,
        summary: 'Delete a server',
        description: 'Refused (400) while a deployment to one of its environments is queued or running.',
        scope: 'servers:delete',
        role: 'admin',
        action: 'delete servers',
      },
      { params: serverParams, response: { 204: noContent } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      await servers.remove(actor, request.params.project, request.params.server);
      return reply.code(204).send();
    },
  });

  api.post('/projects/:project/servers/:server/refresh', {
    schema: operation(
      {
        tags,
        summary: "Refresh the server's connection status",
        description:
          "Logs in with the project's key through the deploy engine's transport, reads the release state and records whether that worked (the first contact pins the host key).",
        scope: 'servers:create',
        role: 'deployer',
        action: 'check servers',
      },
      {
        params: serverParams,
        response: {
          200: z
            .object({
              server: serverJson,
              message: z.string().nullable().describe('Why the connection failed'),
              current_release: z.string().nullable(),
            })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const check = await deps.connections.refresh(actor, request.params.project, request.params.server);
      return {
        server: serverJsonOf(await servers.get(request.params.project, request.params.server)),
        message: check.message,
        current_release: check.currentRelease,
      };
    },
  });
}
