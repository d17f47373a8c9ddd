import { SlipwayError } from '../errors.js';

/** Longest ref we accept; git itself has no small limit, but nobody names a branch like this. */
const MAX_REF_LENGTH = 200;
const MAX_PATH_LENGTH = 255;

const HEX_SHA = /^(?:[0-9a-f]{7,40}|[0-9a-f]{64})$/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Characters a shell gives meaning to. Refs never need them, so they are refused outright. */
const SHELL_METACHARACTERS = /[;|&$`'"<>(){}!#]/;
/** Characters git's check-ref-format forbids (besides control characters and space). */
const GIT_FORBIDDEN = /[~^:?*[\\]/;

export type RefRule =
  | 'empty'
  | 'too_long'
  | 'control_character'
  | 'leading_dash'
  | 'shell_metacharacter'
  | 'whitespace'
  | 'git_forbidden_character'
  | 'double_dot'
  | 'at_brace'
  | 'lone_at'
  | 'leading_slash'
  | 'trailing_slash'
  | 'double_slash'
  | 'component_leading_dot'
  | 'lock_suffix'
  | 'trailing_dot';

function refused(ref: string, rule: RefRule, why: string): SlipwayError {
  const shown = JSON.stringify(ref.length > 80 ? `${ref.slice(0, 80)}…` : ref);
  return new SlipwayError('unsafe_ref', `Refusing ref ${shown}: ${why}.`, { ref, rule });
}

/** The first rule `ref` breaks, with a sentence for the user, or null when it is acceptable. */
function brokenRule(ref: string): [RefRule, string] | null {
  if (ref.length === 0) return ['empty', 'it is empty'];
  if (HEX_SHA.test(ref)) return null;
  if (ref.length > MAX_REF_LENGTH) return ['too_long', `it is longer than ${MAX_REF_LENGTH} characters`];
  if (CONTROL.test(ref)) return ['control_character', 'it contains a control character'];
  // A leading dash would be read as an option by git (`--upload-pack=…` runs a program).
  if (ref.startsWith('-'))
    return ['leading_dash', 'a ref may not start with "-" (it would be read as an option)'];
  const meta = SHELL_METACHARACTERS.exec(ref);
  if (meta) return ['shell_metacharacter', `it contains the shell metacharacter "${meta[0]}"`];
  if (/\s/u.test(ref)) return ['whitespace', 'it contains whitespace'];
  const forbidden = GIT_FORBIDDEN.exec(ref);
  if (forbidden) return ['git_forbidden_character', `git does not allow "${forbidden[0]}" in a ref name`];
  if (ref.includes('..')) return ['double_dot', 'git does not allow ".." in a ref name'];
  if (ref.includes('@{')) return ['at_brace', 'git does not allow "@{" in a ref name'];
  if (ref === '@') return ['lone_at', 'git does not allow the ref name "@"'];
  if (ref.startsWith('/')) return ['leading_slash', 'a ref may not start with "/"'];
  if (ref.endsWith('/')) return ['trailing_slash', 'a ref may not end with "/"'];
  if (ref.includes('//')) return ['double_slash', 'a ref may not contain "//"'];
  if (ref.endsWith('.')) return ['trailing_dot', 'a ref may not end with "."'];
  for (const component of ref.split('/')) {
    if (component.startsWith('.')) return ['component_leading_dot', 'no part of a ref may start with "."'];
    if (component.endsWith('.lock')) return ['lock_suffix', 'no part of a ref may end with ".lock"'];
  }
  return null;
}

/**
 * Validate a branch, tag or commit sha that a person asked to deploy. Implements git's
 * check-ref-format rules plus ours (no leading dash, no whitespace, no shell metacharacters,
 * a length cap), so a hostile ref is refused before anything runs — quoting is the second line
 * of defence, not the only one. Returns the ref unchanged; throws SlipwayError('unsafe_ref').
 */
export function validateRef(ref: string): string {
  const broken = brokenRule(ref);
  if (broken) throw refused(ref, broken[0], broken[1]);
  return ref;
}

/** True when `ref` passes validateRef. */
export function isSafeRef(ref: string): boolean {
  return brokenRule(ref) === null;
}

/**
 * Validate a path relative to a release or to `shared/` (a linked folder's `from` or `to`):
 * relative, no `..` or `.` parts, no empty parts, no control characters. The value is still
 * shell-quoted when used; this check keeps it from escaping the deploy path.
 */
export function validatePathSegment(path: string, label = 'path'): string {
  const fail = (why: string) =>
    new SlipwayError('invalid_input', `Refusing ${label} ${JSON.stringify(path)}: ${why}.`, { path });
  if (path.length === 0) throw fail('it is empty');
  if (path.length > MAX_PATH_LENGTH) throw fail(`it is longer than ${MAX_PATH_LENGTH} characters`);
  if (CONTROL.test(path)) throw fail('it contains a control character');
  if (path.startsWith('/')) throw fail('it must be relative (no leading "/")');
  if (path.startsWith('-')) throw fail('it may not start with "-"');
  for (const part of path.split('/')) {
    if (part === '..') throw fail('it may not contain ".."');
    if (part === '.') throw fail('it may not contain "." as a part');
    if (part === '') throw fail('it may not contain empty parts ("//" or a trailing "/")');
  }
  return path;
}

/** Where the engine writes the environment file, in `shared/` and in each release. */
export const ENV_FILE_NAME = '.env';

/**
 * One side of a linked folder, `from` (in the release) or `to` (in `shared/`): a safe relative
 * path that is neither the environment file nor inside it — the link step writes `shared/.env`
 * and links `<release>/.env` to it, so a folder there would break every deploy from then on.
 */
export function validateLinkedFolderPath(path: string, label: 'linked folder' | 'shared folder'): string {
  validatePathSegment(path, label);
  if (path === ENV_FILE_NAME || path.startsWith(`${ENV_FILE_NAME}/`)) {
    throw new SlipwayError(
      'invalid_input',
      `Refusing ${label} ${JSON.stringify(path)}: ${ENV_FILE_NAME} is where Slipway writes the environment file.`,
      { path },
    );
  }
  return path;
}

/** A linked folder, both sides (see validateLinkedFolderPath). */
export function validateLinkedFolder(folder: { from: string; to: string }): { from: string; to: string } {
  validateLinkedFolderPath(folder.from, 'linked folder');
  validateLinkedFolderPath(folder.to, 'shared folder');
  return folder;
}
