/**
 * A repository URL may carry credentials (`https://user:token@host/repo.git`). Wherever a URL
 * is shown — API responses, plans, messages — the password part is masked.
 */
export function maskRepositoryUrl(repository: string): string {
  return repository.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]+):[^/@]+@/i, '$1:***@');
}
