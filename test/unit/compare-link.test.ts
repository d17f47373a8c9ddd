import { describe, expect, it } from 'vitest';
import { compareUrl, repositoryHome } from '../../src/core/deployments/index.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('compare links', () => {
  it('reads the web home of the URLs people give, credentials dropped', () => {
    expect(repositoryHome('git@github.com:acme/api.git')).toEqual({ host: 'github.com', path: 'acme/api' });
    expect(repositoryHome('https://deploy:s3cret@gitlab.example.com/group/sub/api.git')).toEqual({
      host: 'gitlab.example.com',
      path: 'group/sub/api',
    });
    expect(repositoryHome('ssh://git@bitbucket.org:22/team/api.git')).toEqual({
      host: 'bitbucket.org',
      path: 'team/api',
    });
    expect(repositoryHome('/srv/git/api.git')).toBeNull();
    expect(repositoryHome('file:///srv/git/api.git')).toBeNull();
    expect(repositoryHome('https://github.com/acme/../evil')).toBeNull();
  });

  it('links GitHub, GitLab and Bitbucket compare pages; nothing for other hosts', () => {
    expect(compareUrl('github', 'git@github.com:acme/api.git', A, B)).toBe(
      `https://github.com/acme/api/compare/${A}...${B}`,
    );
    expect(compareUrl('gitlab', 'https://token@gitlab.example.com/group/api.git', A, B)).toBe(
      `https://gitlab.example.com/group/api/-/compare/${A}...${B}`,
    );
    expect(compareUrl('bitbucket', 'git@bitbucket.org:team/api.git', A, B)).toBe(
      `https://bitbucket.org/team/api/branches/compare/${B}%0D${A}`,
    );
    // The provider is taken from well-known hosts when the project says only "git".
    expect(compareUrl('git', 'https://github.com/acme/api', A, B)).toBe(
      `https://github.com/acme/api/compare/${A}...${B}`,
    );
    expect(compareUrl('git', 'https://git.example.com/acme/api.git', A, B)).toBeNull();
    expect(compareUrl('github', '/srv/git/api.git', A, B)).toBeNull();
  });
});
