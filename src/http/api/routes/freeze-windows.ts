import { z } from 'zod';
import type { FreezeWindowView } from '../../../core/deployments/index.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { nullableTimestamp, timestamp } from '../schemas.js';
import { environmentParams } from './environments.js';

const windowJson = z
  .object({
    id: z.uuid(),
    environment: z.string(),
    freeze_start: z.string().nullable().describe('Cron expression: when each freeze starts'),
    freeze_end: z.string().nullable().describe('Cron expression: when it ends (or duration_minutes)'),
    duration_minutes: z.number().int().nullable(),
    cron_timezone: z.string(),
    starts_at: nullableTimestamp.describe('A one-off freeze: from'),
    ends_at: nullableTimestamp.describe('A one-off freeze: until'),
    reason: z.string().nullable(),
    created_by: z.string(),
    created_at: timestamp,
  })
  .strict();
apiSchemas.add(windowJson, { id: 'FreezeWindow' });

function windowJsonOf(w: FreezeWindowView): z.output<typeof windowJson> {
  return {
    id: w.id,
    environment: w.environment,
    freeze_start: w.cronStart,
    freeze_end: w.cronEnd,
    duration_minutes: w.durationMinutes,
    cron_timezone: w.timezone,
    starts_at: w.startsAt,
    ends_at: w.endsAt,
    reason: w.reason,
    created_by: w.createdBy,
    created_at: w.createdAt,
  };
}

const date = (what: string) => z.coerce.date({ error: `${what} must be a date-time (2026-12-24T00:00:00Z)` });
const tags = ['Freeze windows'];

/** GitLab's deploy freezes, per environment: recurring (cron start, end or duration, time zone) or one-off. */
export function registerFreezeWindowRoutes(api: ApiInstance, deps: ApiDeps): void {
  const base = '/projects/:project/environments/:environment/freeze_windows';

  api.get(base, {
    schema: operation(
      { tags, summary: "List an environment's freeze windows", role: 'viewer' },
      { params: environmentParams, response: { 200: z.array(windowJson) } },
    ),
    handler: async (request) => {
      const { project, environment } = request.params;
      return (await deps.freezes.list(project, environment)).map(windowJsonOf);
    },
  });

  api.post(base, {
    schema: operation(
      {
        tags,
        summary: 'Add a freeze window',
        description:
          'Recurring: `freeze_start` (a cron expression) in `cron_timezone` (default UTC), ending at the next `freeze_end` (a cron expression) or after `duration_minutes`. One-off: `starts_at` and `ends_at`. While a freeze is in force, deploys and promotes to the environment are refused with when it ends (400); an admin may force one with a `reason`, recorded in the audit log. Rollbacks are not frozen.',
        scope: 'environments:create',
        role: 'admin',
        action: 'freeze environments',
      },
      {
        params: environmentParams,
        body: z
          .object({
            freeze_start: z.string().min(1).max(120).optional(),
            freeze_end: z.string().min(1).max(120).optional(),
            duration_minutes: z.number().int().optional(),
            cron_timezone: z.string().min(1).max(64).optional(),
            starts_at: date('starts_at').optional(),
            ends_at: date('ends_at').optional(),
            reason: z.string().max(500).optional(),
          })
          .strict(),
        response: { 201: windowJson },
      },
    ),
    handler: async (request, reply) => {
      const { project, environment } = request.params;
      const b = request.body;
      const created = await deps.freezes.add(actorOf(request), project, environment, {
        cronStart: b.freeze_start ?? null,
        cronEnd: b.freeze_end ?? null,
        durationMinutes: b.duration_minutes ?? null,
        timezone: b.cron_timezone ?? null,
        startsAt: b.starts_at ?? null,
        endsAt: b.ends_at ?? null,
        reason: b.reason ?? null,
      });
      reply.code(201);
      return windowJsonOf(created);
    },
  });

  api.delete(`${base}/:window`, {
    schema: operation(
      {
        tags,
        summary: 'Remove a freeze window',
        scope: 'environments:delete',
        role: 'admin',
        action: 'unfreeze environments',
      },
      {
        params: environmentParams.extend({ window: z.string().min(1).max(100) }).strict(),
        response: { 204: z.undefined() },
      },
    ),
    handler: async (request, reply) => {
      const { project, environment, window } = request.params;
      await deps.freezes.remove(actorOf(request), project, environment, window);
      return reply.code(204).send();
    },
  });
}
