/**
 * The one error type that crosses layers. `message` is written for the person who caused it
 * (it ends up in chat, the API or the CLI); `code` is stable for programs and tests.
 */
export type SlipwayErrorCode =
  | 'config_invalid'
  | 'not_found'
  | 'invalid_input'
  | 'forbidden'
  | 'conflict'
  /** Valid input, refused by a rule (deleting an environment that is not stopped): HTTP 400. */
  | 'refused'
  | 'environment_busy'
  | 'environment_locked'
  | 'duplicate_approval'
  | 'unsafe_ref'
  | 'host_key_mismatch'
  | 'ssh_failed'
  | 'command_failed'
  | 'cancelled'
  | 'timeout'
  | 'crypto_failed'
  | 'database_unavailable'
  | 'internal';

export class SlipwayError extends Error {
  override readonly name = 'SlipwayError';
  constructor(
    readonly code: SlipwayErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isSlipwayError(error: unknown, code?: SlipwayErrorCode): error is SlipwayError {
  return error instanceof SlipwayError && (code === undefined || error.code === code);
}
