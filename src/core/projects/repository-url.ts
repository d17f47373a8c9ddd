import { SlipwayError } from '../../errors.js';

/**
 * A repository URL may carry credentials (`https://user:token@host/repo.git`). Wherever a URL
 * is shown — API responses, plans, messages — the password part is masked.
 */
export function maskRepositoryUrl(repository: string): string {
  return repository.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]+):[^/@]+@/i, '$1:***@');
}

const GITHUB_URL =
  /^(?:(?:https?|ssh|git):\/\/(?:[^@/]+@)?(?:www\.)?github\.com(?::\d+)?\/|git@github\.com:)([a-z0-9_.-]+\/[a-z0-9_.-]+?)(?:\.git)?\/?$/i;
const OWNER_AND_NAME = /^[a-z0-9_.-]{1,100}\/[a-z0-9_.-]{1,100}$/;

/**
 * The `owner/name` of a repository on github.com, read from its URL (https, `git@github.com:`,
 * `ssh://`, with or without credentials and `.git`), lowercased; null for any other URL or path.
 * GitHub Enterprise, mirrors and local paths name their repository explicitly instead.
 */
export function githubRepositoryOf(repository: string): string | null {
  const match = GITHUB_URL.exec(repository.trim());
  return match?.[1] ? match[1].toLowerCase() : null;
}

/** A repository named by hand: `owner/name` (GitHub's names are case-insensitive: stored lowercased). */
export function checkGithubRepository(value: string): string {
  const name = value.trim().toLowerCase();
  if (!OWNER_AND_NAME.test(name) || name.split('/').some((part) => part === '.' || part === '..')) {
    throw new SlipwayError(
      'invalid_input',
      `github_repository ${JSON.stringify(value)} is not a repository: use owner/name, e.g. acme/api.`,
      { field: 'github_repository' },
    );
  }
  return name;
}
