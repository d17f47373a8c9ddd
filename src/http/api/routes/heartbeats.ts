import { z } from 'zod';
import { type HeartbeatView, heartbeatInputSchema } from '../../../core/heartbeats/index.js';
import { HEARTBEAT_STATUSES } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { noContent, nullableTimestamp, projectParams, timestamp } from '../schemas.js';

const heartbeatJson = z
  .object({
    id: z.uuid(),
    project: z.string(),
    name: z.string(),
    token: z.string().describe('The secret part of the ping URL'),
    ping_url: z.string(),
    fail_url: z.string(),
    interval: z
      .number()
      .int()
      .nullable()
      .describe('Minutes (10, 30, 60, 1440, 10080, 44640), or null for cron'),
    cron: z.string().nullable(),
    timezone: z.string(),
    grace_minutes: z.number().int(),
    schedule: z.string(),
    status: z.enum(HEARTBEAT_STATUSES),
    last_checked_in_at: nullableTimestamp,
    next_due_at: nullableTimestamp,
    missing_since: nullableTimestamp,
    alert_held: z.boolean(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .strict();
apiSchemas.add(heartbeatJson, { id: 'Heartbeat' });

function json(h: HeartbeatView): z.output<typeof heartbeatJson> {
  return {
    id: h.id,
    project: h.project,
    name: h.name,
    token: h.token,
    ping_url: h.pingUrl,
    fail_url: h.failUrl,
    interval: h.interval,
    cron: h.cron,
    timezone: h.timezone,
    grace_minutes: h.graceMinutes,
    schedule: h.schedule,
    status: h.status,
    last_checked_in_at: h.lastCheckInAt,
    next_due_at: h.nextDueAt,
    missing_since: h.missingSince,
    alert_held: h.alertHeld,
    created_at: h.createdAt,
    updated_at: h.updatedAt,
  };
}

const params = projectParams.extend({ heartbeat: z.string().min(1).max(100) }).strict();
const one = z.object({ heartbeat: heartbeatJson }).strict();
const tags = ['Heartbeats'];

/** Envoyer's heartbeats over HeartbeatService: list, get, create, delete. */
export function registerHeartbeatRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { heartbeats } = deps;
  api.get('/projects/:project/heartbeats', {
    schema: operation(
      { tags, summary: 'List heartbeats', role: 'viewer' },
      {
        params: projectParams,
        response: { 200: z.object({ heartbeats: z.array(heartbeatJson) }).strict() },
      },
    ),
    handler: async (request) => {
      return { heartbeats: (await heartbeats.list(request.params.project)).map(json) };
    },
  });

  api.get('/projects/:project/heartbeats/:heartbeat', {
    schema: operation(
      { tags, summary: 'Get a heartbeat (by id or name)', role: 'viewer' },
      { params, response: { 200: one } },
    ),
    handler: async (request) => {
      return { heartbeat: json(await heartbeats.get(request.params.project, request.params.heartbeat)) };
    },
  });

  api.post('/projects/:project/heartbeats', {
    schema: operation(
      {
        tags,
        summary: 'Create a heartbeat',
        description:
          "Envoyer's intervals (10, 30, 60, 1440, 10080, 44640 minutes) or a cron expression with a time zone, and a grace period. The job then pings `ping_url`.",
        scope: 'heartbeats:create',
        role: 'deployer',
        action: 'add heartbeats',
      },
      { params: projectParams, body: heartbeatInputSchema, response: { 201: one } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const created = await heartbeats.create(actor, request.params.project, request.body);
      reply.code(201);
      return { heartbeat: json(created) };
    },
  });

  api.delete('/projects/:project/heartbeats/:heartbeat', {
    schema: operation(
      {
        tags,
        summary: 'Delete a heartbeat',
        scope: 'heartbeats:delete',
        role: 'deployer',
        action: 'remove heartbeats',
      },
      { params, response: { 204: noContent } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      await heartbeats.remove(actor, request.params.project, request.params.heartbeat);
      return reply.code(204).send();
    },
  });
}
