import { SlipwayError } from '../errors.js';

/**
 * Quote one value for a POSIX shell. Every value that reaches a remote shell goes through here,
 * so there is exactly one place to get quoting right: wrap in single quotes (inside which the
 * shell interprets nothing) and write each embedded `'` as `'\''`.
 * NUL cannot be carried by any shell word (C strings end there), so it is refused rather than
 * silently truncating the value.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) {
    throw new SlipwayError(
      'invalid_input',
      'A value sent to the server contains a NUL byte, which a shell cannot carry.',
    );
  }
  return `'${value.replaceAll("'", "'\\''")}'`;
}
