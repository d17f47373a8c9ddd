import { z } from 'zod';
import type { FreezeStatus } from '../../../core/deployments/index.js';
import type { EnvironmentView } from '../../../core/projects/index.js';
import { COMMIT_BEHAVIOURS, ENVIRONMENT_STATES } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import {
  deploymentSummary,
  gitRef,
  message,
  noContent,
  nullableTimestamp,
  projectParams,
  queryBoolean,
  resourceName,
  role,
  summaryJson,
  tier,
  timestamp,
} from '../schemas.js';

const environmentJson = z
  .object({
    id: z.uuid(),
    name: z.string(),
    slug: z.string(),
    description: z.string().nullable(),
    external_url: z.string().nullable(),
    health_check_url: z
      .string()
      .nullable()
      .describe("Checked after each activation; null: the project's health-check URL is"),
    state: z.enum(ENVIRONMENT_STATES),
    tier,
    branch: z.string(),
    servers: z.array(z.string()),
    auto_stop_at: nullableTimestamp,
    auto_stop_setting: z.enum(['always', 'with_action']),
    commit_behavior: z.enum(COMMIT_BEHAVIOURS),
    approvals_required: z.number().int(),
    approver_role: role,
    approval_ttl_minutes: z.number().int(),
    cloned_from: z.string().nullable().describe('For a review app: the environment it was cloned from'),
    auto_destroy: z.boolean(),
    lock: z
      .object({
        holder: z.string(),
        reason: z.string().nullable(),
        since: timestamp,
        expires_at: nullableTimestamp,
      })
      .strict()
      .nullable(),
    live: z
      .object({
        release: z.string().describe('The release `current` points at on the servers'),
        commit: z.string().nullable(),
        deployment_id: z.uuid().nullable().describe('The deployment that built that release'),
        since: nullableTimestamp,
      })
      .strict()
      .nullable()
      .describe('What is live, as stored when an activation or a rollback completed'),
    freeze: z
      .object({
        frozen: z.boolean(),
        until: nullableTimestamp.describe('When the freeze in force ends'),
        reason: z.string().nullable(),
        next_at: nullableTimestamp.describe('When the next freeze starts'),
        next_reason: z.string().nullable(),
      })
      .strict()
      .optional()
      .describe('Deploy freezes (on a single environment and the list)'),
    created_at: timestamp,
    updated_at: timestamp,
    last_deployment: deploymentSummary.nullable().optional().describe('On a single environment only'),
  })
  .strict();
apiSchemas.add(environmentJson, { id: 'Environment' });

export function environmentJsonOf(
  e: EnvironmentView,
  freeze?: FreezeStatus | null,
): z.output<typeof environmentJson> {
  return {
    id: e.id,
    name: e.name,
    slug: e.slug,
    description: e.description,
    external_url: e.externalUrl,
    health_check_url: e.healthCheckUrl,
    state: e.state,
    tier: e.tier,
    branch: e.branch,
    servers: e.servers,
    auto_stop_at: e.autoStopAt,
    auto_stop_setting: e.autoStopSetting,
    commit_behavior: e.commitBehaviour,
    approvals_required: e.approvalsRequired,
    approver_role: e.approverRole,
    approval_ttl_minutes: e.approvalTtlMinutes,
    cloned_from: e.clonedFrom,
    auto_destroy: e.autoDestroy,
    lock: e.lock
      ? { holder: e.lock.holder, reason: e.lock.reason, since: e.lock.since, expires_at: e.lock.expiresAt }
      : null,
    live: e.live
      ? {
          release: e.live.release,
          commit: e.live.commit,
          deployment_id: e.live.deploymentId,
          since: e.live.since,
        }
      : null,
    ...(freeze !== undefined
      ? {
          freeze: {
            frozen: !!freeze?.active,
            until: freeze?.active?.until ?? null,
            reason: freeze?.active?.reason ?? null,
            next_at: freeze?.next?.at ?? null,
            next_reason: freeze?.next?.reason ?? null,
          },
        }
      : {}),
    created_at: e.createdAt,
    updated_at: e.updatedAt,
    ...(e.lastDeployment !== undefined
      ? { last_deployment: e.lastDeployment ? summaryJson(e.lastDeployment) : null }
      : {}),
  };
}

export { environmentJson };

const editable = {
  description: z.string().max(2000).nullable(),
  external_url: z.url({ error: 'external_url must be a URL' }).max(2000).nullable(),
  health_check_url: z.url({ error: 'health_check_url must be a URL' }).max(2000).nullable(),
  tier,
  branch: gitRef('branch'),
  servers: z.array(z.string().min(1).max(100)).max(1000).describe('Server names or ids'),
  auto_stop_setting: z.enum(['always', 'with_action'], {
    error: 'auto_stop_setting must be always or with_action',
  }),
  auto_stop_at: z.coerce.date({ error: 'auto_stop_at must be a date-time' }).nullable(),
  commit_behavior: z.enum(COMMIT_BEHAVIOURS, {
    error: `commit_behavior must be one of ${COMMIT_BEHAVIOURS.join(', ')}`,
  }),
  approvals_required: z
    .number()
    .int()
    .min(0, 'approvals_required must be 0 to 10')
    .max(10, 'approvals_required must be 0 to 10'),
  approver_role: role,
  approval_ttl_minutes: z
    .number()
    .int()
    .min(1, 'approval_ttl_minutes must be 1 to 10080')
    .max(10_080, 'approval_ttl_minutes must be 1 to 10080'),
};

type Editable = Partial<{ [K in keyof typeof editable]: z.output<(typeof editable)[K]> }>;

function patchOf(b: Editable) {
  return {
    description: b.description,
    externalUrl: b.external_url,
    healthCheckUrl: b.health_check_url,
    tier: b.tier,
    branch: b.branch,
    servers: b.servers,
    autoStopSetting: b.auto_stop_setting,
    autoStopAt: b.auto_stop_at,
    commitBehaviour: b.commit_behavior,
    approvalsRequired: b.approvals_required,
    approverRole: b.approver_role,
    approvalTtlMinutes: b.approval_ttl_minutes,
  };
}

export const environmentParams = projectParams
  .extend({ environment: z.string().min(1, 'environment is required').max(100) })
  .strict();
const dateQuery = (what: string) =>
  z.string({ error: `${what} is required` }).transform((value, ctx) => {
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: `${what} must be an ISO 8601 date (2019-03-15T08:00:00Z)` });
      return z.NEVER;
    }
    return date;
  });

const tags = ['Environments'];

/** GitLab's environments API: its shapes (a bare object or array), filters and rules. */
export function registerEnvironmentRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { environments } = deps;

  api.get('/projects/:project/environments', {
    schema: operation(
      { tags, summary: "List a project's environments", role: 'viewer' },
      {
        params: projectParams,
        querystring: z
          .object({
            name: z.string().min(1).max(100).optional().describe('Exactly this name; not with search'),
            search: z
              .string()
              .min(3, 'search must be at least 3 characters long')
              .max(100)
              .optional()
              .describe('Names containing this (at least 3 characters); not with name'),
            states: z
              .enum(ENVIRONMENT_STATES, { error: `states must be one of ${ENVIRONMENT_STATES.join(', ')}` })
              .optional(),
          })
          .strict()
          .refine((q) => q.name === undefined || q.search === undefined, {
            path: ['search'],
            message: 'name and search cannot be used together',
          }),
        response: { 200: z.array(environmentJson) },
      },
    ),
    handler: async (request) => {
      const q = request.query;
      const list = await environments.list(request.params.project, {
        name: q.name,
        search: q.search,
        states: q.states,
      });
      const freezes = await deps.freezes.statusOf(list.map((e) => e.id));
      return list.map((e) => environmentJsonOf(e, freezes.get(e.id) ?? null));
    },
  });

  api.get('/projects/:project/environments/:environment', {
    schema: operation(
      { tags, summary: 'Get an environment (by name or id) with its last deployment', role: 'viewer' },
      { params: environmentParams, response: { 200: environmentJson } },
    ),
    handler: async (request) => {
      const environment = await environments.get(request.params.project, request.params.environment);
      const freezes = await deps.freezes.statusOf([environment.id]);
      return environmentJsonOf(environment, freezes.get(environment.id) ?? null);
    },
  });

  api.post('/projects/:project/environments', {
    schema: operation(
      {
        tags,
        summary: 'Create an environment',
        scope: 'environments:create',
        role: 'admin',
        action: 'create environments',
      },
      {
        params: projectParams,
        body: z
          .object({ name: resourceName('name'), ...editable })
          .partial()
          .required({ name: true })
          .strict(),
        response: { 201: environmentJson },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const created = await environments.create(actor, request.params.project, {
        name: request.body.name,
        ...patchOf(request.body),
      });
      reply.code(201);
      return environmentJsonOf(created);
    },
  });

  api.put('/projects/:project/environments/:environment', {
    schema: operation(
      {
        tags,
        summary: 'Update an environment',
        description: 'The name cannot change (as in GitLab).',
        scope: 'environments:create',
        role: 'admin',
        action: 'change environments',
      },
      {
        params: environmentParams,
        body: z.object(editable).partial().strict(),
        response: { 200: environmentJson },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const updated = await environments.update(
        actor,
        request.params.project,
        request.params.environment,
        patchOf(request.body),
      );
      return environmentJsonOf(updated);
    },
  });

  api.delete('/projects/:project/environments/:environment', {
    schema: operation(
      {
        tags,
        summary: 'Delete an environment',
        description: 'Only a stopped environment can be deleted: otherwise 400.',
        scope: 'environments:delete',
        role: 'admin',
        action: 'delete environments',
      },
      { params: environmentParams, response: { 204: noContent } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      await environments.remove(actor, request.params.project, request.params.environment);
      return reply.code(204).send();
    },
  });

  api.post('/projects/:project/environments/:environment/stop', {
    schema: operation(
      {
        tags,
        summary: 'Stop an environment',
        description:
          'No deploys until it is started again. Deployments waiting for approval or queued are cancelled; a running one makes the stop fail (400): cancel it or wait. An auto-destroy environment (a review app) is deleted once stopped.',
        scope: 'environments:create',
        role: 'deployer',
        action: 'stop environments',
      },
      {
        params: environmentParams,
        response: {
          200: environmentJson
            .extend({ destroyed: z.boolean(), cancelled_deployments: z.array(z.number().int()) })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const outcome = await environments.stop(actor, request.params.project, request.params.environment);
      return {
        ...environmentJsonOf(outcome.environment),
        destroyed: outcome.destroyed,
        cancelled_deployments: outcome.cancelledDeployments,
      };
    },
  });

  api.post('/projects/:project/environments/:environment/start', {
    schema: operation(
      {
        tags,
        summary: 'Start a stopped environment again',
        scope: 'environments:create',
        role: 'deployer',
        action: 'start environments',
      },
      { params: environmentParams, response: { 200: environmentJson } },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      return environmentJsonOf(
        await environments.start(actor, request.params.project, request.params.environment),
      );
    },
  });

  api.post('/projects/:project/environments/stop_stale', {
    schema: operation(
      {
        tags,
        summary: 'Stop stale environments',
        description:
          'Stops every environment last changed and last deployed to before `before`, which must lie between 10 years and 1 week ago. Production-tier environments are protected and never stopped this way.',
        scope: 'environments:create',
        role: 'admin',
        action: 'stop environments',
      },
      {
        params: projectParams,
        querystring: z.object({ before: dateQuery('before') }).strict(),
        response: {
          200: message
            .extend({
              stopped: z.array(z.string()),
              skipped: z.array(z.object({ name: z.string(), reason: z.string() }).strict()),
            })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const outcome = await environments.stopStale(actor, request.params.project, request.query.before);
      return {
        message: outcome.stopped.length
          ? 'Successfully requested stop for all stale environments'
          : 'No stale environments to stop',
        ...outcome,
      };
    },
  });

  const entry = z
    .object({ id: z.uuid(), name: z.string(), slug: z.string(), external_url: z.string().nullable() })
    .strict();
  api.delete('/projects/:project/environments/review_apps', {
    schema: operation(
      {
        tags,
        summary: 'Delete stopped review apps',
        description:
          'Stopped review apps (environments cloned from another) last changed before `before` (default 30 days ago), oldest first, at most `limit` (default 100). `dry_run` is true unless set to false: it only lists what would be deleted.',
        scope: 'environments:delete',
        role: 'admin',
        action: 'delete review apps',
      },
      {
        params: projectParams,
        querystring: z
          .object({
            before: dateQuery('before').optional(),
            limit: z.coerce
              .number({ error: 'limit must be a number' })
              .int('limit must be a whole number')
              .min(1, 'limit must be between 1 and 1000')
              .max(1000, 'limit must be between 1 and 1000')
              .optional(),
            dry_run: queryBoolean.optional(),
          })
          .strict(),
        response: {
          200: z
            .object({
              scheduled_entries: z.array(entry),
              unprocessable_entries: z.array(entry),
              dry_run: z.boolean(),
            })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const q = request.query;
      const outcome = await deps.reviewApps.removeStopped(actor, request.params.project, {
        ...(q.before ? { before: q.before } : {}),
        limit: q.limit,
        dryRun: q.dry_run,
      });
      const out = (e: (typeof outcome.scheduled)[number]) => ({
        id: e.id,
        name: e.name,
        slug: e.slug,
        external_url: e.externalUrl,
      });
      return {
        scheduled_entries: outcome.scheduled.map(out),
        unprocessable_entries: outcome.unprocessable.map(out),
        dry_run: outcome.dryRun,
      };
    },
  });
}
