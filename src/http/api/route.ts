import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { ApiScope, Role } from '../../vocabulary.js';
import { ERROR_RESPONSES } from './errors.js';

/** A fastify instance whose routes are typed from their zod schemas. */
export type ApiInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

type ZodSchemas = {
  params?: z.ZodType;
  querystring?: z.ZodType;
  body?: z.ZodType;
  headers?: z.ZodType;
  response: Record<number, z.ZodType>;
};

export interface OperationDoc {
  tags: string[];
  summary: string;
  description?: string;
  /** Scope the token needs (none for reads). */
  scope?: ApiScope;
  /**
   * Role the token's member needs on the project ('global admin' for a few), checked for every
   * route by one hook (roles.ts) before the handler runs. 'environment approver': the approver
   * role the environment sets, which the approval service checks on the deployment it loads.
   */
  role: Role | 'global admin' | 'environment approver' | 'any';
  /** What the role is needed for, as a refusal says it ("add servers"); the role's usual verb otherwise. */
  action?: string;
}

/** Each route's declared role, by the schema object `operation` made for it (read by roles.ts). */
const DOCS = new WeakMap<object, OperationDoc>();

/** The operation a route's schema was made from, or undefined for a route not made by `operation`. */
export function operationOf(schema: unknown): OperationDoc | undefined {
  return schema && typeof schema === 'object' ? DOCS.get(schema) : undefined;
}

/**
 * The route's schema for validation, serialization and the OpenAPI document at once: the zod
 * schemas, the documented errors, the security requirement with its scope, and a description
 * that names the scope and role needed.
 */
export function operation<S extends ZodSchemas>(doc: OperationDoc, schemas: S) {
  const needs = [
    doc.scope ? `Scope: \`${doc.scope}\`.` : 'Scope: any valid token.',
    doc.role === 'any'
      ? ''
      : doc.role === 'environment approver'
        ? "Role: the approver role the environment sets (approver by default), and not the deployment's requester."
        : `Role: ${doc.role === 'global admin' ? 'global admin' : `${doc.role} on the project`}.`,
  ]
    .filter(Boolean)
    .join(' ');
  const schema = {
    tags: doc.tags,
    summary: doc.summary,
    description: [doc.description, needs].filter(Boolean).join('\n\n'),
    security: [{ bearerAuth: doc.scope ? [doc.scope] : [] }],
    ...schemas,
    response: { ...ERROR_RESPONSES, ...schemas.response } as typeof ERROR_RESPONSES & S['response'],
  };
  DOCS.set(schema, doc);
  return schema;
}
