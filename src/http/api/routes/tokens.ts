import { z } from 'zod';
import type { ApiTokenView } from '../../../core/access/index.js';
import { API_SCOPES, CHAT_PLATFORMS } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { nullableTimestamp, timestamp } from '../schemas.js';

const tokenJson = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('The first characters of the token, to tell tokens apart'),
    scopes: z.array(z.string()),
    member_id: z.uuid(),
    member_name: z.string(),
    created_by: z.string(),
    created_at: timestamp,
    last_used_at: nullableTimestamp,
    expires_at: nullableTimestamp,
    revoked_at: nullableTimestamp,
  })
  .strict();
apiSchemas.add(tokenJson, { id: 'ApiToken' });

function json(view: ApiTokenView): z.output<typeof tokenJson> {
  return {
    id: view.id,
    name: view.name,
    prefix: view.prefix,
    scopes: view.scopes,
    member_id: view.memberId,
    member_name: view.memberName,
    created_by: view.createdBy,
    created_at: view.createdAt,
    last_used_at: view.lastUsedAt,
    expires_at: view.expiresAt,
    revoked_at: view.revokedAt,
  };
}

const identity = z
  .object({
    platform: z.enum(CHAT_PLATFORMS, { error: `platform must be one of ${CHAT_PLATFORMS.join(', ')}` }),
    workspace: z.string().min(1).max(255),
    user_id: z.string().min(1).max(255),
    name: z.string().min(1).max(255).optional(),
  })
  .strict();

const tags = ['API tokens'];

export function registerTokenRoutes(api: ApiInstance, deps: ApiDeps): void {
  api.get('/user', {
    schema: operation(
      { tags, summary: 'The member and scopes of the token making the request', role: 'any' },
      {
        response: {
          200: z
            .object({
              member_id: z.uuid().nullable(),
              name: z.string(),
              token: z.object({ id: z.uuid(), name: z.string(), scopes: z.array(z.string()) }).strict(),
            })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const principal = request.principal!;
      return {
        member_id: principal.actor.memberId,
        name: principal.actor.name,
        token: { id: principal.tokenId, name: principal.tokenName, scopes: principal.scopes },
      };
    },
  });

  api.get('/tokens', {
    schema: operation(
      { tags, summary: 'List API tokens (your own; a global admin sees all)', role: 'any' },
      { response: { 200: z.object({ tokens: z.array(tokenJson) }).strict() } },
    ),
    handler: async (request) => ({ tokens: (await deps.tokens.list(actorOf(request))).map(json) }),
  });

  api.post('/tokens', {
    schema: operation(
      {
        tags,
        summary: 'Create an API token (shown once)',
        description:
          'A token acts as its member (yours unless `member` names another). It may only hold scopes the token making the request holds.',
        scope: 'tokens:create',
        role: 'global admin',
        action: 'create API tokens over the API',
      },
      {
        body: z
          .object({
            name: z.string().trim().min(1, 'name is required').max(100, 'name is at most 100 characters'),
            scopes: z.array(
              z.enum(API_SCOPES, { error: `each scope must be one of ${API_SCOPES.join(', ')}` }),
            ),
            member: identity.optional(),
            expires_at: z.coerce
              .date({ error: 'expires_at must be a date-time' })
              .refine((date) => date.getTime() > Date.now(), 'expires_at must be in the future')
              .optional(),
          })
          .strict(),
        response: { 201: z.object({ token: z.string(), api_token: tokenJson }).strict() },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const body = request.body;
      const member = body.member
        ? {
            identity: {
              platform: body.member.platform,
              workspace: body.member.workspace,
              userId: body.member.user_id,
              displayName: body.member.name ?? body.member.user_id,
            },
          }
        : { memberId: actor.memberId! };
      const created = await deps.tokens.create(
        actor,
        { member, name: body.name, scopes: body.scopes, expiresAt: body.expires_at ?? null },
        request.principal!.scopes,
      );
      reply.code(201);
      return { token: created.token, api_token: json(created.view) };
    },
  });

  api.delete('/tokens/:token', {
    schema: operation(
      {
        tags,
        summary: 'Revoke an API token (yours, or any as a global admin)',
        scope: 'tokens:delete',
        role: 'any',
      },
      {
        params: z.object({ token: z.string().min(1).max(64) }).strict(),
        response: { 200: z.object({ api_token: tokenJson }).strict() },
      },
    ),
    handler: async (request) => ({
      api_token: json(await deps.tokens.revoke(actorOf(request), request.params.token)),
    }),
  });
}
