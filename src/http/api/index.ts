import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { API_SCOPES } from '../../vocabulary.js';
import { registerTokenCheck } from './auth.js';
import type { ApiDeps, ApiSettings } from './deps.js';
import { registerApiErrors, send } from './errors.js';
import { registerInputCheck } from './input-check.js';
import { apiSchemas } from './registry.js';
import { registerRoleCheck } from './roles.js';
import { registerCollaboratorRoutes } from './routes/collaborators.js';
import { registerCommitRoutes } from './routes/commits.js';
import { registerDeploymentRoutes } from './routes/deployments.js';
import { registerEnvironmentFileRoutes } from './routes/environment-file.js';
import { registerEnvironmentRoutes } from './routes/environments.js';
import { registerFreezeWindowRoutes } from './routes/freeze-windows.js';
import { registerHeartbeatRoutes } from './routes/heartbeats.js';
import { registerHookRoutes } from './routes/hooks.js';
import { registerNotificationRoutes } from './routes/notifications.js';
import { registerPipelineRoutes } from './routes/pipelines.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerPromotionRoutes } from './routes/promotions.js';
import { registerRepositoryRoutes } from './routes/repositories.js';
import { registerServerRoutes } from './routes/servers.js';
import { registerTokenRoutes } from './routes/tokens.js';

export const API_PREFIX = '/api/v1';

export interface ApiRoute {
  method: string;
  /** fastify's form: `/api/v1/projects/:project`. */
  url: string;
}

const ROUTES = new WeakMap<FastifyInstance, ApiRoute[]>();

/** Every route registered under /api/v1 on this server (what the OpenAPI document must cover). */
export function registeredApiRoutes(http: FastifyInstance): ApiRoute[] {
  return [...(ROUTES.get(http) ?? [])];
}

/**
 * The REST API under /api/v1, its OpenAPI 3.1 document at /api/openapi.json and a docs page at
 * /docs. Validation, serialization and the document all come from the same zod schemas. The
 * API lives in a plugin of its own: its compilers, error handler, token check and rate limit
 * do not touch the chat and webhook routes on the same server.
 */
export async function registerApi(
  http: FastifyInstance,
  deps: ApiDeps,
  settings: ApiSettings,
): Promise<void> {
  await http.register(async (scope) => {
    scope.setValidatorCompiler(validatorCompiler);
    scope.setSerializerCompiler(serializerCompiler);
    await scope.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Slipway API',
          version: settings.version,
          description: [
            'Everything the chat can do, over HTTP. Resources follow Envoyer (projects, servers, linked folders, environment file, hooks, deployments, heartbeats, collaborators, notifications), GitLab (environments) and the promotion platform (promote, clone, commit behaviour, builds, pipeline, test gates).',
            'Authenticate with `Authorization: Bearer <token>` (`slipway token create --scopes …`). Every GET needs only a valid token; changes need the scope named on each operation, and the token acts as its member under the same roles and approval rules as chat.',
            'Errors: 400 valid but refused, 401 no valid token, 403 not allowed, 404 not found, 409 busy or locked, 422 invalid input (with `errors` per field), 429 too many requests (Retry-After).',
          ].join('\n\n'),
        },
        servers: [{ url: settings.publicUrl }],
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              description: `An API token (slw_…). Scopes: ${API_SCOPES.join(', ')}.`,
            },
          },
        },
      },
      transform: createJsonSchemaTransform({ schemaRegistry: apiSchemas }),
      transformObject: createJsonSchemaTransformObject({ schemaRegistry: apiSchemas }),
    });
    await scope.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
      staticCSP: true,
    });
    scope.get('/api/openapi.json', { schema: { hide: true } }, async () => scope.swagger());

    await scope.register(
      async (api) => {
        const routes: ApiRoute[] = [];
        ROUTES.set(http, routes);
        api.addHook('onRoute', (route) => {
          for (const method of [route.method].flat()) {
            if (method !== 'HEAD') routes.push({ method, url: route.url });
          }
        });
        registerApiErrors(api, settings.inputError);
        registerTokenCheck(api, deps.tokens);
        // Both before validation, in this order: odd characters first (the role check reads the
        // raw project name), then the role, so a body's errors never tell a stranger anything.
        registerInputCheck(api);
        registerRoleCheck(api, deps.access);
        // Route-level hooks run after the token check above, so the limit is counted per token.
        await api.register(rateLimit, {
          global: true,
          max: settings.rateLimit,
          timeWindow: settings.rateWindowMs,
          keyGenerator: (request) =>
            request.principal ? `token:${request.principal.tokenId}` : `ip:${request.ip}`,
        });
        api.setNotFoundHandler((request, reply) =>
          send(reply, 404, {
            error: 'not_found',
            message: `There is no route ${request.method} ${request.url}.`,
          }),
        );
        const typed = api.withTypeProvider<ZodTypeProvider>();
        registerTokenRoutes(typed, deps);
        registerProjectRoutes(typed, deps);
        registerServerRoutes(typed, deps);
        registerEnvironmentFileRoutes(typed, deps);
        registerHookRoutes(typed, deps);
        registerDeploymentRoutes(typed, deps);
        registerEnvironmentRoutes(typed, deps);
        registerPromotionRoutes(typed, deps);
        registerRepositoryRoutes(typed, deps);
        registerCommitRoutes(typed, deps);
        registerFreezeWindowRoutes(typed, deps);
        registerPipelineRoutes(typed, deps);
        registerCollaboratorRoutes(typed, deps);
        registerHeartbeatRoutes(typed, deps);
        registerNotificationRoutes(typed, deps);
      },
      { prefix: API_PREFIX },
    );
  });
}
