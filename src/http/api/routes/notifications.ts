import { z } from 'zod';
import {
  type NotificationChannelView,
  notificationChannelInputSchema,
  notificationChannelPatchSchema,
} from '../../../core/notifications/index.js';
import { NOTIFICATION_PLATFORMS } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { noContent, nullableTimestamp, projectParams, timestamp } from '../schemas.js';

const notificationJson = z
  .object({
    id: z.uuid(),
    project: z.string().nullable(),
    name: z.string(),
    type: z.enum(NOTIFICATION_PLATFORMS),
    options: z
      .object({
        target_kind: z.enum(['webhook', 'channel', 'email']),
        target: z
          .string()
          .describe('A channel id, the addresses, or a masked URL: never a webhook URL in clear'),
        has_secret: z.boolean(),
      })
      .strict(),
    events: z.array(z.string()),
    active: z.boolean(),
    health: z
      .object({
        status: z.enum(['ok', 'failing', 'untested']),
        consecutive_failures: z.number().int(),
        failing_since: nullableTimestamp,
        last_error: z.string().nullable(),
        last_error_at: nullableTimestamp,
        last_delivered_at: nullableTimestamp,
      })
      .strict(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .strict();
apiSchemas.add(notificationJson, { id: 'Notification' });

function json(n: NotificationChannelView): z.output<typeof notificationJson> {
  return {
    id: n.id,
    project: n.project,
    name: n.name,
    type: n.type,
    options: { target_kind: n.targetKind, target: n.target, has_secret: n.hasSecret },
    events: n.events,
    active: n.active,
    health: {
      status: n.health.status,
      consecutive_failures: n.health.consecutiveFailures,
      failing_since: n.health.failingSince,
      last_error: n.health.lastError,
      last_error_at: n.health.lastErrorAt,
      last_delivered_at: n.health.lastDeliveredAt,
    },
    created_at: n.createdAt,
    updated_at: n.updatedAt,
  };
}

const params = projectParams.extend({ notification: z.string().min(1).max(100) }).strict();
const list = z.object({ notifications: z.array(notificationJson) }).strict();
const one = z.object({ notification: notificationJson }).strict();
const tags = ['Notifications'];

/** Envoyer's notifications over NotificationChannelService: list, get, create, update, delete. */
export function registerNotificationRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { channels } = deps;
  api.get('/projects/:project/notifications', {
    schema: operation(
      { tags, summary: "List the project's notification channels", role: 'viewer' },
      { params: projectParams, response: { 200: list } },
    ),
    handler: async (request) => {
      return { notifications: (await channels.list(request.params.project)).map(json) };
    },
  });

  api.get('/projects/:project/notifications/:notification', {
    schema: operation(
      { tags, summary: 'Get a notification channel (by id or name)', role: 'viewer' },
      { params, response: { 200: one } },
    ),
    handler: async (request) => {
      return {
        notification: json(await channels.get(request.params.project, request.params.notification)),
      };
    },
  });

  api.post('/projects/:project/notifications', {
    schema: operation(
      {
        tags,
        summary: 'Create a notification channel',
        description:
          "`slack` (webhookUrl, or channel through the bot token), `discord` (webhookUrl or channel), `teams` (webhookUrl, or channel through the bot), `webhook` (webhookUrl and a secret: requests are signed with HMAC-SHA256), `email` (addresses), `github` (channel: the repository, owner/name, whose GitHub Deployments show this project's deployments; Slipway keeps one named `github-deployments` for each project with a `github_repository`). Answers with the project's channels, as Envoyer does.",
        scope: 'notifications:create',
        role: 'admin',
        action: 'add notification channels',
      },
      { params: projectParams, body: notificationChannelInputSchema, response: { 201: list } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      await channels.create(actor, request.params.project, request.body);
      reply.code(201);
      return { notifications: (await channels.list(request.params.project)).map(json) };
    },
  });

  api.put('/projects/:project/notifications/:notification', {
    schema: operation(
      {
        tags,
        summary: 'Update a notification channel',
        description: 'Its type cannot change. A new target or secret resends the failures of the last day.',
        scope: 'notifications:create',
        role: 'admin',
        action: 'change notification channels',
      },
      { params, body: notificationChannelPatchSchema, response: { 200: one } },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      return {
        notification: json(
          await channels.update(actor, request.params.project, request.params.notification, request.body),
        ),
      };
    },
  });

  api.delete('/projects/:project/notifications/:notification', {
    schema: operation(
      {
        tags,
        summary: 'Delete a notification channel',
        scope: 'notifications:delete',
        role: 'admin',
        action: 'remove notification channels',
      },
      { params, response: { 204: noContent } },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      await channels.remove(actor, request.params.project, request.params.notification);
      return reply.code(204).send();
    },
  });
}
