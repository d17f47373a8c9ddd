import {
  CheckConstraintViolationException,
  ConstraintViolationException,
  DriverException,
} from '@mikro-orm/core';
import pg from 'pg';
import { SlipwayError } from '../errors.js';

/**
 * The rules the database enforces reach people as domain errors, not SQL. Each named
 * constraint maps to what it means; the caller may pass a more specific message (naming the
 * environment, the holder of a lock, …) for the constraint it expects.
 */
const MEANINGS: Record<string, { code: SlipwayError['code']; message: string }> = {
  deployments_one_active_per_environment: {
    code: 'environment_busy',
    message: 'Another deployment to this environment is already queued or running.',
  },
  approvals_one_per_member: {
    code: 'duplicate_approval',
    message: 'You have already decided on this request; your first decision stands.',
  },
  locks_one_per_environment: {
    code: 'environment_locked',
    message: 'This environment is already locked.',
  },
};

export function constraintName(error: unknown): string | undefined {
  if (!(error instanceof ConstraintViolationException)) return undefined;
  const constraint = (error as { constraint?: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/**
 * PostgreSQL's data exceptions (SQLSTATE class 22) are caused by the values sent, never by
 * Slipway's state: text too long for its column, a number out of range, a malformed uuid or
 * date, a NUL byte. What each means for the person who sent it.
 */
const DATA_EXCEPTIONS: Record<string, string> = {
  '22001': 'A value is longer than Slipway stores.',
  '22003': 'A number is out of range.',
  '22007': 'A date or time is not valid.',
  '22008': 'A date or time is out of range.',
  '22021': 'A text value holds a character Slipway does not accept.',
  '22P02': 'A value is not in the expected form (an id, a number or a boolean).',
  '22P05': 'A text value holds a character Slipway does not accept.',
};

/**
 * A database error caused by the input, as the 4xx it is (invalid_input); undefined for any
 * other error. The SQL and the value are kept as the cause, never shown.
 */
export function databaseInputError(error: unknown): SlipwayError | undefined {
  if (error instanceof CheckConstraintViolationException) {
    const name = constraintName(error);
    return new SlipwayError(
      'invalid_input',
      `A value is outside what Slipway allows${name ? ` (${name})` : ''}.`,
      name ? { constraint: name } : undefined,
      { cause: error },
    );
  }
  // MikroORM wraps what its queries raise; raw queries (execute) raise pg's own error.
  if (!(error instanceof DriverException) && !(error instanceof pg.DatabaseError)) return undefined;
  const sqlState = (error as { code?: unknown }).code;
  if (typeof sqlState !== 'string' || !sqlState.startsWith('22')) return undefined;
  return new SlipwayError(
    'invalid_input',
    DATA_EXCEPTIONS[sqlState] ?? 'A value was not accepted by the database.',
    { sqlState },
    { cause: error },
  );
}

/**
 * Runs `work`; a violation of a known constraint becomes a SlipwayError, and so does a database
 * error caused by the input (databaseInputError); anything else is rethrown.
 */
export async function withConstraintErrors<T>(
  work: () => Promise<T>,
  messages: Record<string, string> = {},
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const name = constraintName(error);
    const meaning = name ? MEANINGS[name] : undefined;
    if (name && !meaning && messages[name] === undefined) {
      const input = databaseInputError(error);
      if (input) throw input;
    }
    if (name && meaning) {
      throw new SlipwayError(
        meaning.code,
        messages[name] ?? meaning.message,
        { constraint: name },
        { cause: error },
      );
    }
    if (name) {
      throw new SlipwayError(
        'conflict',
        messages[name] ?? `That change conflicts with existing data (${name}).`,
        { constraint: name },
        { cause: error },
      );
    }
    throw databaseInputError(error) ?? error;
  }
}
