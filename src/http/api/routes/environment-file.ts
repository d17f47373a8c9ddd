import { z } from 'zod';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { type ApiInstance, operation } from '../route.js';
import { message, projectParams } from '../schemas.js';

const key = z
  .string({ error: 'key is required' })
  .min(6, 'key must be at least 6 characters')
  .max(255, 'key must be at most 255 characters');
const tags = ['Environment file'];

/** Envoyer's environment file: reading it takes the project's environment key. */
export function registerEnvironmentFileRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { environmentFile } = deps;

  api.get('/projects/:project/environment', {
    schema: operation(
      {
        tags,
        summary: "Read the project's environment file",
        description:
          'Send the environment key in the `X-Environment-Key` header (a header, so it stays out of URLs and logs). A wrong key is 403.',
        role: 'admin',
        action: 'read the environment file',
      },
      {
        params: projectParams,
        headers: z.object({ 'x-environment-key': key }),
        response: { 200: z.object({ environment: z.string() }).strict() },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      return {
        environment: await environmentFile.read(
          actor,
          request.params.project,
          request.headers['x-environment-key'],
        ),
      };
    },
  });

  api.put('/projects/:project/environment', {
    schema: operation(
      {
        tags,
        summary: 'Set the environment file',
        description:
          'The first update sets the environment key; later ones must give it. Each deployment writes the file to `shared/.env` (mode 0600) on every server.',
        scope: 'environments:create',
        role: 'admin',
        action: 'change the environment file',
      },
      {
        params: projectParams,
        body: z
          .object({
            key,
            contents: z.string({ error: 'contents is required' }).max(65_536, 'contents is at most 64 KiB'),
          })
          .strict(),
        response: { 200: message },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      await environmentFile.update(actor, request.params.project, request.body.key, request.body.contents);
      return { message: 'The environment file was updated.' };
    },
  });

  api.delete('/projects/:project/environment', {
    schema: operation(
      {
        tags,
        summary: 'Reset the environment key (wipes the environment file)',
        scope: 'environments:delete',
        role: 'admin',
        action: 'reset the environment key',
      },
      { params: projectParams, body: z.object({ key }).strict(), response: { 200: message } },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      await environmentFile.reset(actor, request.params.project, request.body.key);
      return { message: 'The environment key was reset and the environment file wiped.' };
    },
  });
}
