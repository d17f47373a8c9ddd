import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor, ApiPrincipal, ApiTokenService, AuthenticationFailure } from '../../core/access/index.js';
import { type ApiScope, isApiScope } from '../../vocabulary.js';
import { send } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the API's token check, before anything else runs. */
    principal: ApiPrincipal | null;
  }
}

const WHY: Record<AuthenticationFailure, string> = {
  missing: 'Send an API token: Authorization: Bearer <token> (create one with `slipway token create`).',
  malformed: 'The Authorization header must be "Bearer <token>" with a Slipway token (slw_…).',
  unknown: 'That API token is not valid.',
  revoked: 'That API token has been revoked.',
  expired: 'That API token has expired.',
};

/**
 * Every API request shows a token first (before its body is even read): no token, a malformed
 * one, an unknown, revoked or expired one → 401. Then the route's scope → 403 when missing.
 */
export function registerTokenCheck(api: FastifyInstance, tokens: ApiTokenService): void {
  api.decorateRequest('principal', null);
  api.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const outcome = await tokens.authenticate(request.headers.authorization);
    if (!outcome.ok) {
      reply.header('www-authenticate', `Bearer realm="slipway", error="invalid_token"`);
      return send(reply, 401, { error: 'unauthenticated', message: WHY[outcome.reason] });
    }
    request.principal = outcome.principal;
    const scope = scopeOf(request.routeOptions.schema);
    if (scope && !outcome.principal.scopes.includes(scope)) {
      reply.header(
        'www-authenticate',
        `Bearer realm="slipway", error="insufficient_scope", scope="${scope}"`,
      );
      return send(reply, 403, {
        error: 'forbidden',
        message: `This token lacks the ${scope} scope; create a token with it (slipway token create --scopes ${scope}).`,
      });
    }
  });
}

/** The member the request's token acts as. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.principal) throw new Error('API route reached without a token check');
  return request.principal.actor;
}

/**
 * The scope a route needs, read from its OpenAPI security requirement (see `operation`), so
 * the document and the check cannot disagree. Routes without one need only a valid token.
 */
export function scopeOf(schema: unknown): ApiScope | undefined {
  const security = (schema as { security?: { bearerAuth?: string[] }[] } | undefined)?.security;
  const scope = security?.[0]?.bearerAuth?.[0];
  return scope && isApiScope(scope) ? scope : undefined;
}
