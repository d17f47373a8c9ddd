import type { RepositoryProvider } from '../../vocabulary.js';

/** The web home of a repository on a git host: `https://github.com/acme/api`, credentials dropped. */
export interface RepositoryHome {
  host: string;
  /** `owner/name` (GitLab: `group/subgroup/name`), without `.git`. */
  path: string;
}

/**
 * Where a repository lives on the web, from the URLs people give: `git@host:owner/repo.git`,
 * `ssh://git@host[:port]/owner/repo.git`, `https://[user[:token]@]host/owner/repo[.git]`.
 * Local paths and anything else have no web home.
 */
export function repositoryHome(repository: string): RepositoryHome | null {
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(?!\/)(.+?)(?:\.git)?\/?$/.exec(repository);
  if (scp) return clean(scp[1]!, scp[2]!);
  let url: URL;
  try {
    url = new URL(repository);
  } catch {
    return null;
  }
  if (!['https:', 'http:', 'ssh:', 'git:'].includes(url.protocol) || !url.hostname) return null;
  return clean(
    url.hostname,
    url.pathname
      .replace(/^\/+/, '')
      .replace(/\/+$/, '')
      .replace(/\.git$/, ''),
  );
}

function clean(host: string, path: string): RepositoryHome | null {
  const segments = path.split('/').filter(Boolean);
  if (segments.length < 2 || segments.some((s) => !/^[A-Za-z0-9._~-]+$/.test(s) || s === '..')) return null;
  return { host: host.toLowerCase(), path: segments.join('/') };
}

/** The project's provider, or the one its host says (github.com, gitlab.com, bitbucket.org). */
export function providerOf(provider: RepositoryProvider, home: RepositoryHome): RepositoryProvider {
  if (provider !== 'git') return provider;
  if (home.host === 'github.com') return 'github';
  if (home.host === 'gitlab.com') return 'gitlab';
  if (home.host === 'bitbucket.org') return 'bitbucket';
  return 'git';
}

/** The host's page comparing `base` with `head`, for GitHub, GitLab and Bitbucket; null otherwise. */
export function compareUrl(
  provider: RepositoryProvider,
  repository: string,
  base: string,
  head: string,
): string | null {
  const home = repositoryHome(repository);
  if (!home) return null;
  const root = `https://${home.host}/${home.path}`;
  switch (providerOf(provider, home)) {
    case 'github':
      return `${root}/compare/${base}...${head}`;
    case 'gitlab':
      return `${root}/-/compare/${base}...${head}`;
    case 'bitbucket':
      // Bitbucket names the source first, then the destination, joined by a carriage return.
      return `${root}/branches/compare/${head}%0D${base}`;
    default:
      return null;
  }
}
