import { describe, expect, it } from 'vitest';
import { failureOf } from '../../adapters/github/deployments-api.js';
import { translateEvent } from '../../adapters/github/webhook-events.js';
import { checkGithubRepository, githubRepositoryOf } from '../../src/core/projects/index.js';
import { githubExample } from '../support/github-webhooks.js';

describe("a project's GitHub repository", () => {
  it('is read from github.com URLs in every form git takes', () => {
    for (const url of [
      'https://github.com/Acme/Api.git',
      'https://github.com/acme/api',
      'https://github.com/acme/api/',
      'https://x-access-token:ghs_secret@github.com/acme/api.git',
      'http://www.github.com/acme/api.git',
      'git@github.com:acme/api.git',
      'git@github.com:acme/api',
      'ssh://git@github.com/acme/api.git',
      'ssh://git@github.com:22/acme/api.git',
      'git://github.com/acme/api.git',
    ]) {
      expect(githubRepositoryOf(url), url).toBe('acme/api');
    }
    expect(githubRepositoryOf('git@github.com:acme/my.dotted.repo.git')).toBe('acme/my.dotted.repo');
  });

  it('is none for other hosts, GitHub Enterprise, mirrors and paths (named by hand instead)', () => {
    for (const url of [
      '/srv/git/api.git',
      './repo.git',
      'https://gitlab.com/acme/api.git',
      'https://github.example.com/acme/api.git',
      'git@github.example.com:acme/api.git',
      'https://github.com.evil.test/acme/api.git',
      'https://github.com/acme',
      'https://github.com/acme/api/tree/main',
    ]) {
      expect(githubRepositoryOf(url), url).toBeNull();
    }
  });

  it('named by hand is owner/name, lowercased; anything else is refused with the field named', () => {
    expect(checkGithubRepository(' Acme/API ')).toBe('acme/api');
    for (const bad of ['acme', 'acme/api/extra', '../etc', 'acme/..', 'a b/c', '/api', 'acme/']) {
      expect(() => checkGithubRepository(bad), bad).toThrow(/is not a repository: use owner\/name/);
    }
  });
});

describe('GitHub deliveries, translated', () => {
  it('reads a branch push: head commit with message and author, the pusher, forced and created flags', () => {
    const payload = githubExample('push', (e) => e.ref === 'refs/heads/master');
    const event = translateEvent('push', payload);
    expect(event).toEqual({
      kind: 'push',
      push: {
        host: 'github',
        repository: 'Codertocat/Hello-World',
        ref: { kind: 'branch', name: 'master' },
        head: { sha: payload.after, message: 'Initial commit', author: payload.head_commit!.author.name },
        commits: [expect.objectContaining({ sha: payload.commits[0]!.id })],
        created: true,
        deleted: false,
        forced: false,
        pusher: 'Codertocat',
      },
    });
  });

  it('reads tags, deletions, and a push with no head commit described', () => {
    const tag = translateEvent(
      'push',
      githubExample('push', (e) => e.ref.startsWith('refs/tags/') && e.created),
    );
    expect(tag).toMatchObject({ kind: 'push', push: { ref: { kind: 'tag', name: 'simple-tag' } } });
    const deleted = translateEvent(
      'push',
      githubExample('push', (e) => e.deleted),
    );
    expect(deleted).toMatchObject({ kind: 'push', push: { deleted: true, head: null } });
    const bare = githubExample('push', (e) => e.ref === 'refs/heads/master');
    bare.head_commit = null;
    bare.commits = [];
    expect(translateEvent('push', bare)).toMatchObject({
      push: { head: { sha: bare.after, message: null, author: null } },
    });
    const notes = githubExample('push', (e) => e.ref === 'refs/heads/master');
    notes.ref = 'refs/notes/commits';
    expect(translateEvent('push', notes)).toMatchObject({ kind: 'ignored' });
  });

  it('turns check suites and check runs into commit states: pending while they run, their conclusion after', () => {
    const suite = translateEvent(
      'check_suite',
      githubExample(
        'check_suite',
        (e) => e.action === 'completed' && e.check_suite.app?.slug === 'github-actions',
      ),
    );
    expect(suite).toMatchObject({
      kind: 'ci',
      result: {
        context: 'github-actions',
        state: 'success',
        commit: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
      },
    });
    const requested = translateEvent(
      'check_suite',
      githubExample('check_suite', (e) => e.action === 'requested'),
    );
    expect(requested).toMatchObject({ kind: 'ci', result: { state: 'pending' } });

    const created = translateEvent(
      'check_run',
      githubExample('check_run', (e) => e.action === 'created'),
    );
    expect(created).toMatchObject({ kind: 'ci', result: { context: 'Octocoders-linter', state: 'pending' } });
    const failed = translateEvent(
      'check_run',
      githubExample('check_run', (e) => e.action === 'completed' && e.check_run.conclusion === 'failure'),
    );
    expect(failed).toMatchObject({ kind: 'ci', result: { state: 'failure' } });
    const conclusions: Record<string, string | null> = {
      success: 'success',
      neutral: 'success',
      skipped: 'success',
      failure: 'failure',
      action_required: 'failure',
      cancelled: 'error',
      timed_out: 'error',
      startup_failure: 'error',
      stale: null,
    };
    for (const [conclusion, state] of Object.entries(conclusions)) {
      const run = githubExample('check_run', (e) => e.action === 'completed');
      (run.check_run as { conclusion: string }).conclusion = conclusion;
      const event = translateEvent('check_run', run);
      if (state) expect(event, conclusion).toMatchObject({ kind: 'ci', result: { state } });
      else expect(event, conclusion).toMatchObject({ kind: 'ignored' });
    }
    const action = translateEvent(
      'check_run',
      githubExample('check_run', (e) => e.action === 'requested_action'),
    );
    expect(action).toMatchObject({ kind: 'ignored' });
  });

  it('takes commit statuses as they are, and ignores what it does not act on or cannot read', () => {
    const status = translateEvent('status', githubExample('status'));
    expect(status).toMatchObject({
      kind: 'ci',
      result: { context: 'default', state: 'success', commit: '6113728f27ae82c7b1a177c8d03f9e96e0adf246' },
    });
    expect(translateEvent('issues', githubExample('issues'))).toMatchObject({ kind: 'ignored' });
    expect(translateEvent('push', null)).toMatchObject({ kind: 'ignored' });
    expect(translateEvent('push', { ref: 'refs/heads/main' })).toMatchObject({ kind: 'ignored' });
    expect(
      translateEvent('status', { sha: 'nope', state: 'success', repository: { full_name: 'a/b' } }),
    ).toMatchObject({
      kind: 'ignored',
    });
  });
});

describe("GitHub's answers, as the delivery worker takes them", () => {
  const answered = (status: number, headers: Record<string, string> = {}) =>
    failureOf(Object.assign(new Error('GitHub says no'), { status, response: { headers } }), 'GitHub');

  it('retries what may pass, waits out rate limits, and gives up on what needs a person', () => {
    expect(answered(502).kind).toBe('retryable');
    expect(answered(429, { 'retry-after': '7' })).toMatchObject({
      kind: 'rate_limited',
      details: { retryAfterMs: 7000 },
    });
    const reset = String(Math.floor(Date.now() / 1000) + 120);
    const exhausted = answered(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset });
    expect(exhausted.kind).toBe('rate_limited');
    expect(exhausted.details.retryAfterMs).toBeGreaterThan(100_000);
    expect(answered(403, { 'retry-after': '60' }).kind).toBe('rate_limited');
    // No Deployments permission, a bad token, an unknown repository or commit: a person must act.
    for (const status of [401, 403, 404, 422])
      expect(answered(status).kind, String(status)).toBe('permanent');
    // No answer at all (refused, reset, timed out).
    const network = failureOf(Object.assign(new Error('connect ECONNREFUSED'), { status: 500 }), 'GitHub');
    expect(network.kind).toBe('retryable');
  });
});
