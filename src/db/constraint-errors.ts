import { ConstraintViolationException } from '@mikro-orm/core';
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

/** Runs `work`; a violation of a known constraint becomes a SlipwayError, anything else is rethrown. */
export async function withConstraintErrors<T>(
  work: () => Promise<T>,
  messages: Record<string, string> = {},
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const name = constraintName(error);
    const meaning = name ? MEANINGS[name] : undefined;
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
    throw error;
  }
}
