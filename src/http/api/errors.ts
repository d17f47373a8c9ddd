import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isSlipwayError, type SlipwayError } from '../../errors.js';
import { STATUS_BY_CODE } from '../server.js';
import { apiSchemas } from './registry.js';

/**
 * Every error body, Envoyer's codes: 400 valid but refused, 401 no valid token, 403 not
 * allowed, 404 not found, 409 busy or locked, 422 invalid input (with a message per field),
 * 429 too many requests, 500 ours.
 */
export const errorBody = z
  .object({
    error: z.string().describe('A stable code: invalid_input, forbidden, not_found, refused, …'),
    message: z.string().describe('What was wrong, for a person'),
    errors: z
      .record(z.string(), z.array(z.string()))
      .optional()
      .describe('422 only: the messages for each invalid field (`limit`, `servers.0`, …)'),
  })
  .strict();
apiSchemas.add(errorBody, { id: 'Error' });

export type ErrorBody = z.infer<typeof errorBody>;

const described = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorBody } },
});

/** Errors every route may answer with (documented on each operation). */
export const ERROR_RESPONSES = {
  400: described('Valid input, refused by a rule (e.g. deleting an environment that is not stopped)'),
  401: described('No valid API token: missing, malformed, unknown, revoked or expired'),
  403: described('The token lacks the scope, or its member the role'),
  404: described('No such resource'),
  409: described('Busy or locked: another deployment holds the environment, or a lock does'),
  422: described('Invalid input: `errors` has the messages for each field'),
  429: described('Too many requests for this token: retry after the Retry-After header'),
} as const;

const VALIDATION_MESSAGE = 'The given data was invalid.';

export function send(reply: FastifyReply, status: number, body: ErrorBody) {
  return reply.code(status).send(body);
}

/** An error the layers below raised because of the input, as the SlipwayError it stands for. */
export type InputErrorReader = (error: unknown) => SlipwayError | undefined;

/**
 * The API's error handler: one JSON shape for every error, secrets never echoed back. `asInput`
 * reads errors caused by the input (a database refusing a value) as the 4xx they are.
 */
export function registerApiErrors(api: FastifyInstance, asInput: InputErrorReader = () => undefined): void {
  api.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const context = error.validationContext ?? 'body';
      const errors: Record<string, string[]> = {};
      for (const issue of error.validation) {
        const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
        const field = path || context;
        errors[field] = [...(errors[field] ?? []), issue.message ?? 'is not valid'];
      }
      return send(reply, 422, { error: 'invalid_input', message: VALIDATION_MESSAGE, errors });
    }
    if (isSlipwayError(error)) return sendSlipwayError(reply, error);
    const input = asInput(error);
    if (input) return sendSlipwayError(reply, input);
    const status = error.statusCode;
    if (status === 429) {
      return send(reply, 429, {
        error: 'too_many_requests',
        message: `Too many requests for this token; retry after ${reply.getHeader('retry-after') ?? 'a while'} s.`,
      });
    }
    if (status && status >= 400 && status < 500) {
      return send(reply, status, { error: 'bad_request', message: error.message });
    }
    request.log.error({ err: error, url: request.routeOptions.url }, 'API request failed');
    return send(reply, 500, {
      error: 'internal',
      message: 'Something went wrong on our side; it has been logged.',
    });
  });
}

export function sendSlipwayError(reply: FastifyReply, error: SlipwayError) {
  const status = STATUS_BY_CODE[error.code] ?? 400;
  if (status === 422)
    return send(reply, 422, { error: error.code, message: error.message, errors: fieldErrors(error) });
  return send(reply, status, { error: error.code, message: error.message });
}

/** A core error's fields: `details.field` (one) or `details.fields` (field → message). */
function fieldErrors(error: SlipwayError): Record<string, string[]> {
  const fields = error.details?.fields;
  if (fields && typeof fields === 'object') {
    const out: Record<string, string[]> = {};
    for (const [field, message] of Object.entries(fields as Record<string, unknown>))
      out[field] = [String(message)];
    if (Object.keys(out).length) return out;
  }
  const field = typeof error.details?.field === 'string' ? error.details.field : 'input';
  return { [field]: [error.message] };
}
