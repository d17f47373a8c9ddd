import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessPolicy } from '../../core/access/index.js';
import { actorOf } from './auth.js';
import { operationOf } from './route.js';

/**
 * The role each operation declares is enforced here, once, for every route of the API: after
 * the token and scope checks and before validation, so that 422 versus 403 tells a stranger
 * nothing about what exists. The project is the raw path parameter then (not yet validated):
 * any string names no project or one, and access.require answers both. A route that decides on
 * data it loads (a forced promotion) checks that itself, on top.
 */
export function registerRoleCheck(api: FastifyInstance, access: AccessPolicy): void {
  api.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.is404) return;
    const doc = operationOf(request.routeOptions.schema);
    // Every API route is made with `operation()`: one that is not would skip its role check.
    if (!doc) throw new Error(`API route ${request.routeOptions.url} has no operation (and so no role)`);
    if (doc.role === 'any' || doc.role === 'environment approver') return;
    const actor = actorOf(request);
    if (doc.role === 'global admin') return access.require(actor, null, 'admin', doc.action);
    const project = (request.params as { project?: unknown }).project;
    if (typeof project !== 'string') {
      throw new Error(`API route ${request.routeOptions.url} declares a project role but has no :project`);
    }
    await access.require(actor, project, doc.role, doc.action);
  });
}
