import { z } from 'zod';
import type { HookView } from '../../../core/projects/index.js';
import { HOOK_ACTIONS, HOOK_TIMINGS, type HookAction } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { noContent, projectParams, timestamp } from '../schemas.js';

/** Envoyer's actions, by id: what a hook runs before or after. */
const ACTIONS: { id: number; key: HookAction; name: string }[] = [
  { id: 1, key: 'clone', name: 'Clone New Release' },
  { id: 2, key: 'install', name: 'Install Dependencies' },
  { id: 3, key: 'activate', name: 'Activate New Release' },
  { id: 4, key: 'purge', name: 'Purge Old Releases' },
];

const hookJson = z
  .object({
    id: z.uuid(),
    project: z.string(),
    name: z.string(),
    script: z.string(),
    run_as: z.string().nullable(),
    action: z.enum(HOOK_ACTIONS),
    action_id: z.number().int(),
    timing: z.enum(HOOK_TIMINGS),
    sequence: z.number().int(),
    servers: z.array(z.string()).describe('Server names; empty means every server'),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .strict();
apiSchemas.add(hookJson, { id: 'Hook' });

function json(h: HookView): z.output<typeof hookJson> {
  return {
    id: h.id,
    project: h.project,
    name: h.name,
    script: h.script,
    run_as: h.runAs,
    action: h.action,
    action_id: ACTIONS.find((a) => a.key === h.action)!.id,
    timing: h.timing,
    sequence: h.sequence,
    servers: h.servers,
    created_at: h.createdAt,
    updated_at: h.updatedAt,
  };
}

/** Envoyer's hook payload (camelCase, as Envoyer takes it); the action by name or by Envoyer's id. */
const hookFields = {
  name: z.string().trim().min(1, 'name is required').max(255),
  script: z.string().min(1, 'script is required').max(65_536),
  runAs: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/i, 'runAs must be a user name')
    .nullable(),
  action: z.enum(HOOK_ACTIONS, { error: `action must be one of ${HOOK_ACTIONS.join(', ')}` }),
  actionId: z
    .number()
    .int()
    .min(1, 'actionId must be 1 to 4 (see GET /actions)')
    .max(4, 'actionId must be 1 to 4 (see GET /actions)'),
  timing: z.enum(HOOK_TIMINGS, { error: 'timing must be before or after' }),
  sequence: z.number().int().min(0).max(10_000),
  servers: z.array(z.string().min(1).max(100)).max(1000),
};

function actionOf(body: {
  action?: HookAction | undefined;
  actionId?: number | undefined;
}): HookAction | undefined {
  return body.action ?? ACTIONS.find((a) => a.id === body.actionId)?.key;
}

const hookParams = projectParams.extend({ hook: z.uuid({ error: 'hook must be a hook id' }) }).strict();
const one = z.object({ hook: hookJson }).strict();
const tags = ['Hooks'];

export function registerHookRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { hooks } = deps;

  api.get('/actions', {
    schema: operation(
      { tags, summary: 'The deployment actions hooks attach to', role: 'any' },
      {
        response: {
          200: z
            .object({
              actions: z.array(
                z.object({ id: z.number().int(), key: z.enum(HOOK_ACTIONS), name: z.string() }),
              ),
            })
            .strict(),
        },
      },
    ),
    handler: async () => ({ actions: ACTIONS }),
  });

  api.get('/projects/:project/hooks', {
    schema: operation(
      { tags, summary: 'List hooks', role: 'viewer' },
      { params: projectParams, response: { 200: z.object({ hooks: z.array(hookJson) }).strict() } },
    ),
    handler: async (request) => {
      return { hooks: (await hooks.list(request.params.project)).map(json) };
    },
  });

  api.get('/projects/:project/hooks/:hook', {
    schema: operation(
      { tags, summary: 'Get a hook', role: 'viewer' },
      { params: hookParams, response: { 200: one } },
    ),
    handler: async (request) => {
      return { hook: json(await hooks.get(request.params.project, request.params.hook)) };
    },
  });

  api.post('/projects/:project/hooks', {
    schema: operation(
      {
        tags,
        summary: 'Create a hook',
        description: 'Give the action by name (`action`) or by Envoyer id (`actionId`).',
        scope: 'hooks:create',
        role: 'admin',
        action: 'add hooks',
      },
      {
        params: projectParams,
        body: z
          .object({
            ...hookFields,
            action: hookFields.action.optional(),
            actionId: hookFields.actionId.optional(),
            runAs: hookFields.runAs.optional(),
            sequence: hookFields.sequence.optional(),
            servers: hookFields.servers.optional(),
          })
          .strict()
          .refine((b) => actionOf(b) !== undefined, {
            path: ['action'],
            message: 'action (or actionId) is required',
            // Reported along with the other fields' errors, not only once they are right.
            when: (payload) => typeof payload.value === 'object' && payload.value !== null,
          }),
        response: { 201: one },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const b = request.body;
      const created = await hooks.create(actor, request.params.project, {
        name: b.name,
        script: b.script,
        action: actionOf(b)!,
        timing: b.timing,
        runAs: b.runAs,
        sequence: b.sequence,
        servers: b.servers,
      });
      reply.code(201);
      return { hook: json(created) };
    },
  });

  api.put('/projects/:project/hooks/:hook', {
    schema: operation(
      { tags, summary: 'Update a hook', scope: 'hooks:create', role: 'admin', action: 'change hooks' },
      { params: hookParams, body: z.object(hookFields).partial().strict(), response: { 200: one } },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const b = request.body;
      const action = actionOf(b);
      const updated = await hooks.update(actor, request.params.project, request.params.hook, {
        name: b.name,
        script: b.script,
        ...(action !== undefined ? { action } : {}),
        timing: b.timing,
        runAs: b.runAs,
        sequence: b.sequence,
        servers: b.servers,
      });
      return { hook: json(updated) };
    },
  });

  api.delete('/projects/:project/hooks/:hook', {
    schema: operation(
      { tags, summary: 'Delete a hook', scope: 'hooks:delete', role: 'admin', action: 'delete hooks' },
      { params: hookParams, response: { 204: noContent } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      await hooks.remove(actor, request.params.project, request.params.hook);
      return reply.code(204).send();
    },
  });
}
