import { z } from 'zod';
import type { MemberRoleRow } from '../../../core/access/index.js';
import { SlipwayError } from '../../../errors.js';
import { CHAT_PLATFORMS } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { projectParams, role } from '../schemas.js';

const collaboratorJson = z
  .object({
    id: z.uuid().describe('The member id'),
    name: z.string(),
    role,
    scope: z.enum(['global', 'project']).describe('global: the role holds on every project'),
    identities: z.array(z.string()).describe('Chat identities, platform:workspace:user'),
  })
  .strict();
apiSchemas.add(collaboratorJson, { id: 'Collaborator' });

const json = (row: MemberRoleRow): z.output<typeof collaboratorJson> => ({
  id: row.memberId,
  name: row.name,
  role: row.role,
  scope: row.scope,
  identities: row.identities,
});

/** A person by chat identity: Slipway's people are who they are in chat. */
const identity = {
  platform: z.enum(CHAT_PLATFORMS, { error: `platform must be one of ${CHAT_PLATFORMS.join(', ')}` }),
  workspace: z.string().min(1, 'workspace is required').max(255),
  user_id: z.string().min(1, 'user_id is required').max(255),
};

const list = z.object({ collaborators: z.array(collaboratorJson) }).strict();
const tags = ['Collaborators'];

/** Envoyer's collaborators are Slipway's members: roles per project, granted by admins. */
export function registerCollaboratorRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { access } = deps;

  api.get('/projects/:project/collaborators', {
    schema: operation(
      { tags, summary: 'List who holds a role on the project', role: 'admin' },
      { params: projectParams, response: { 200: list } },
    ),
    handler: async (request) => ({
      collaborators: (await access.list(actorOf(request), request.params.project)).map(json),
    }),
  });

  api.get('/projects/:project/collaborators/:member', {
    schema: operation(
      { tags, summary: 'Get a collaborator by member id', role: 'admin' },
      {
        params: projectParams.extend({ member: z.uuid({ error: 'member must be a member id' }) }).strict(),
        response: { 200: z.object({ collaborator: collaboratorJson }).strict() },
      },
    ),
    handler: async (request) => {
      const rows = await access.list(actorOf(request), request.params.project);
      const row =
        rows.find((r) => r.memberId === request.params.member && r.scope === 'project') ??
        rows.find((r) => r.memberId === request.params.member);
      if (!row) {
        throw new SlipwayError(
          'not_found',
          `Member ${request.params.member} has no role on ${request.params.project}.`,
        );
      }
      return { collaborator: json(row) };
    },
  });

  api.post('/projects/:project/collaborators', {
    schema: operation(
      {
        tags,
        summary: 'Grant a person a role on the project',
        description: 'The person is named by chat identity; a person Slipway has not met yet is created.',
        scope: 'collaborators:create',
        role: 'admin',
      },
      {
        params: projectParams,
        body: z.object({ ...identity, name: z.string().min(1).max(255).optional(), role }).strict(),
        response: { 201: list },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const b = request.body;
      await access.grant(
        actor,
        request.params.project,
        // Without a name, the name Slipway already knows stays.
        { platform: b.platform, workspace: b.workspace, userId: b.user_id, displayName: b.name ?? '' },
        b.role,
      );
      reply.code(201);
      return { collaborators: (await access.list(actor, request.params.project)).map(json) };
    },
  });

  api.delete('/projects/:project/collaborators', {
    schema: operation(
      {
        tags,
        summary: "Revoke a person's role on the project",
        scope: 'collaborators:delete',
        role: 'admin',
      },
      { params: projectParams, body: z.object(identity).strict(), response: { 200: list } },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const b = request.body;
      const removed = await access.revoke(actor, request.params.project, {
        platform: b.platform,
        workspace: b.workspace,
        userId: b.user_id,
        displayName: b.user_id,
      });
      if (!removed) {
        throw new SlipwayError(
          'not_found',
          `${b.platform}:${b.workspace}:${b.user_id} has no role on ${request.params.project}.`,
        );
      }
      return { collaborators: (await access.list(actor, request.params.project)).map(json) };
    },
  });
}
