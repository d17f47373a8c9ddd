import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { textProblems } from '../../input-text.js';
import { send } from './errors.js';

/**
 * One check of every string a request carries — path, query and JSON body, object keys
 * included — before anything reads them: a NUL or a lone surrogate gets 422 naming the field,
 * for every route at once, instead of an SQL error (PostgreSQL cannot store either) or a 500.
 * It runs before the role check, which reads the raw project name.
 */
export function registerInputCheck(api: FastifyInstance): void {
  api.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    const errors: Record<string, string[]> = {};
    for (const [part, value] of [
      ['params', request.params],
      ['query', request.query],
      ['body', request.body],
    ] as const) {
      for (const [field, problem] of Object.entries(textProblems(value))) {
        const name = part === 'body' ? field : `${part}.${field}`;
        errors[name] = [`${name} ${problem}`];
      }
    }
    if (Object.keys(errors).length === 0) return;
    return send(reply, 422, {
      error: 'invalid_input',
      message: 'The given data was invalid: a text value holds a character Slipway does not accept.',
      errors,
    });
  });
}
