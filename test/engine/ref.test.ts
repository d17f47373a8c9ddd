import { describe, expect, it } from 'vitest';
import { isSafeRef, validatePathSegment, validateRef } from '../../src/engine/ref.js';
import { isSlipwayError, type SlipwayError } from '../../src/errors.js';

function refusal(ref: string): SlipwayError {
  try {
    validateRef(ref);
  } catch (error) {
    if (isSlipwayError(error)) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(ref)} was accepted`);
}

describe('validateRef', () => {
  it.each([
    ['main;rm -rf /', 'shell_metacharacter', '";"'],
    ['--upload-pack=x', 'leading_dash', 'option'],
    ['-x', 'leading_dash', '"-"'],
    ['$(id)', 'shell_metacharacter', '"$"'],
    ['`id`', 'shell_metacharacter', '"`"'],
    ['a|b', 'shell_metacharacter', '"|"'],
    ['a&b', 'shell_metacharacter', '"&"'],
    ['a>b', 'shell_metacharacter', '">"'],
    ["it's", 'shell_metacharacter', `"'"`],
    ['../x', 'double_dot', '".."'],
    ['feature/../main', 'double_dot', '".."'],
    ['main branch', 'whitespace', 'whitespace'],
    ['main\tx', 'control_character', 'control'],
    ['main\nx', 'control_character', 'control'],
    ['a~1', 'git_forbidden_character', '"~"'],
    ['a^1', 'git_forbidden_character', '"^"'],
    ['a:b', 'git_forbidden_character', '":"'],
    ['a?b', 'git_forbidden_character', '"?"'],
    ['a*b', 'git_forbidden_character', '"*"'],
    ['a[b', 'git_forbidden_character', '"["'],
    ['a\\b', 'git_forbidden_character', '"\\"'],
    ['main@{1}', 'shell_metacharacter', '"{"'],
    ['main@', null, null],
    ['@', 'lone_at', '"@"'],
    ['main.lock', 'lock_suffix', '.lock'],
    ['feature.lock/x', 'lock_suffix', '.lock'],
    ['main/', 'trailing_slash', '"/"'],
    ['/main', 'leading_slash', '"/"'],
    ['a//b', 'double_slash', '"//"'],
    ['main.', 'trailing_dot', '"."'],
    ['.hidden', 'component_leading_dot', '"."'],
    ['feature/.x', 'component_leading_dot', '"."'],
    ['', 'empty', 'empty'],
    ['a'.repeat(201), 'too_long', '200'],
  ] as [string, string | null, string | null][])('%j → %s', (ref, rule, mentions) => {
    if (rule === null) {
      expect(validateRef(ref)).toBe(ref);
      return;
    }
    const error = refusal(ref);
    expect(error.code).toBe('unsafe_ref');
    expect(error.details).toMatchObject({ ref, rule });
    // The message names the ref (as JSON, so control characters are visible) and the rule.
    expect(error.message).toContain(JSON.stringify(ref.length > 80 ? `${ref.slice(0, 80)}…` : ref));
    expect(error.message).toContain(mentions);
  });

  it.each([
    'main',
    'develop',
    'feature/login-form',
    'release-1.2',
    'v1.0.0',
    'refs/tags/v2.3.4',
    'user/some_branch+fix',
    'a1b2c3d',
    '0123456789abcdef0123456789abcdef01234567',
    'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
    `${'ab'.repeat(32)}`,
  ])('accepts %s', (ref) => {
    expect(validateRef(ref)).toBe(ref);
    expect(isSafeRef(ref)).toBe(true);
  });

  it('is stricter than git only where a shell is concerned', () => {
    expect(isSafeRef('main;rm -rf /')).toBe(false);
    expect(isSafeRef('release/2026.11')).toBe(true);
  });
});

describe('validatePathSegment', () => {
  it.each(['storage', 'storage/logs', 'public/uploads', 'bootstrap/cache', 'node_modules', 'a b'])(
    'accepts %s',
    (path) => {
      expect(validatePathSegment(path)).toBe(path);
    },
  );

  it.each([
    ['../x', '".."'],
    ['storage/../../etc', '".."'],
    ['/etc', 'relative'],
    ['', 'empty'],
    ['a//b', 'empty parts'],
    ['storage/', 'empty parts'],
    ['./storage', '"."'],
    ['-rf', '"-"'],
    ['a\nb', 'control'],
  ])('refuses %j', (path, mentions) => {
    let error: unknown;
    try {
      validatePathSegment(path, 'linked folder');
    } catch (caught) {
      error = caught;
    }
    expect(isSlipwayError(error, 'invalid_input')).toBe(true);
    expect((error as Error).message).toContain('linked folder');
    expect((error as Error).message).toContain(mentions);
  });
});
