import type { EmitterWebhookEvent } from '@octokit/webhooks';
import type { CiResult, CommitState, PushedCommit, RepositoryPush } from './ports.js';

type PushPayload = EmitterWebhookEvent<'push'>['payload'];
type CheckSuitePayload = EmitterWebhookEvent<'check_suite'>['payload'];
type CheckRunPayload = EmitterWebhookEvent<'check_run'>['payload'];
type StatusPayload = EmitterWebhookEvent<'status'>['payload'];

/** What a webhook delivery means for Slipway. */
export type GitHubEvent =
  | { kind: 'push'; push: RepositoryPush }
  | { kind: 'ci'; result: CiResult }
  | { kind: 'ignored'; reason: string };

const SHA = /^[0-9a-f]{40}$/;
const DELETED = /^0{40}$/;

/**
 * Translates a verified GitHub delivery (`X-GitHub-Event` and its JSON) into a neutral event:
 * `push`, CI results from `check_suite`, `check_run` and `status`; everything else is ignored.
 * GitHub signed it, but the shape is still checked: what cannot be read is ignored, not thrown.
 */
export function translateEvent(name: string, payload: unknown): GitHubEvent {
  if (typeof payload !== 'object' || payload === null) return ignored('the payload is not an object');
  switch (name) {
    case 'push':
      return fromPush(payload as PushPayload);
    case 'check_suite':
      return fromCheckSuite(payload as CheckSuitePayload);
    case 'check_run':
      return fromCheckRun(payload as CheckRunPayload);
    case 'status':
      return fromStatus(payload as StatusPayload);
    default:
      return ignored(`Slipway does not act on "${name}" events`);
  }
}

function fromPush(payload: PushPayload): GitHubEvent {
  const repository = repositoryOf(payload);
  if (!repository) return ignored('the push names no repository');
  const match = /^refs\/(heads|tags)\/(.+)$/.exec(String(payload.ref ?? ''));
  if (!match) return ignored(`${String(payload.ref)} is neither a branch nor a tag`);
  const deleted = payload.deleted === true || DELETED.test(String(payload.after ?? ''));
  const after = String(payload.after ?? '').toLowerCase();
  if (!deleted && !SHA.test(after)) return ignored('the push has no head commit');
  const commits = (Array.isArray(payload.commits) ? payload.commits : [])
    .map((commit) => commitOf(commit))
    .filter((commit): commit is PushedCommit => commit !== null);
  // The head commit GitHub describes (absent for a branch created at an existing commit).
  const described = commitOf(payload.head_commit) ?? commits.find((commit) => commit.sha === after);
  const head = deleted
    ? null
    : described?.sha === after
      ? described
      : { sha: after, message: null, author: null };
  return {
    kind: 'push',
    push: {
      host: 'github',
      repository,
      ref: { kind: match[1] === 'tags' ? 'tag' : 'branch', name: match[2]! },
      head,
      commits,
      created: payload.created === true,
      deleted,
      forced: payload.forced === true,
      pusher: loginOf(payload) ?? payload.pusher?.name ?? 'unknown',
    },
  };
}

function commitOf(commit: PushPayload['head_commit'] | undefined): PushedCommit | null {
  if (!commit || typeof commit.id !== 'string' || !SHA.test(commit.id.toLowerCase())) return null;
  return {
    sha: commit.id.toLowerCase(),
    message: typeof commit.message === 'string' ? commit.message : null,
    author: commit.author?.name ?? commit.author?.username ?? null,
  };
}

/** GitHub's check conclusions → commit-status states; `stale` says nothing about the commit. */
const CONCLUSIONS: Record<string, CommitState> = {
  success: 'success',
  neutral: 'success',
  skipped: 'success',
  failure: 'failure',
  action_required: 'failure',
  cancelled: 'error',
  timed_out: 'error',
  startup_failure: 'error',
};

function fromCheckSuite(payload: CheckSuitePayload): GitHubEvent {
  const repository = repositoryOf(payload);
  const suite = payload.check_suite;
  const commit = String(suite?.head_sha ?? '').toLowerCase();
  if (!repository || !SHA.test(commit)) return ignored('the check suite names no repository or commit');
  const state = checkState(payload.action, suite.status, suite.conclusion);
  if (!state)
    return ignored(`check_suite ${payload.action} (${suite.conclusion ?? suite.status}) is not a result`);
  const app = suite.app;
  return {
    kind: 'ci',
    result: {
      host: 'github',
      repository,
      commit,
      context: app?.slug ?? app?.name ?? 'check_suite',
      state,
      description: `${app?.name ?? 'Check suite'}: ${suite.conclusion ?? suite.status ?? payload.action}`,
      targetUrl: null,
      reporter: loginOf(payload) ?? 'github',
    },
  };
}

function fromCheckRun(payload: CheckRunPayload): GitHubEvent {
  const repository = repositoryOf(payload);
  const run = payload.check_run;
  const commit = String(run?.head_sha ?? '').toLowerCase();
  if (!repository || !SHA.test(commit) || !run.name)
    return ignored('the check run names no repository or commit');
  const state = checkState(payload.action, run.status, run.conclusion);
  if (!state) return ignored(`check_run ${payload.action} (${run.conclusion ?? run.status}) is not a result`);
  return {
    kind: 'ci',
    result: {
      host: 'github',
      repository,
      commit,
      context: run.name,
      state,
      description: run.output?.title ?? `${run.name}: ${run.conclusion ?? run.status}`,
      targetUrl: run.details_url ?? run.html_url ?? null,
      reporter: loginOf(payload) ?? 'github',
    },
  };
}

/**
 * A check that was created, requested or re-run is pending; a completed one is its conclusion.
 * Anything else (a requested action) says nothing about the commit.
 */
function checkState(
  action: string,
  status: string | null | undefined,
  conclusion: string | null | undefined,
) {
  if (action === 'completed' || (action === 'created' && status === 'completed')) {
    return conclusion ? (CONCLUSIONS[conclusion] ?? null) : null;
  }
  if (action === 'created' || action === 'requested' || action === 'rerequested') return 'pending';
  return null;
}

function fromStatus(payload: StatusPayload): GitHubEvent {
  const repository = repositoryOf(payload);
  const commit = String(payload.sha ?? '').toLowerCase();
  const states: readonly string[] = ['pending', 'success', 'failure', 'error'];
  if (!repository || !SHA.test(commit) || !states.includes(payload.state)) {
    return ignored('the status names no repository, commit or state');
  }
  return {
    kind: 'ci',
    result: {
      host: 'github',
      repository,
      commit,
      context: payload.context || 'default',
      state: payload.state as CommitState,
      description: payload.description ?? null,
      targetUrl: payload.target_url ?? null,
      reporter: loginOf(payload) ?? 'github',
    },
  };
}

function repositoryOf(payload: { repository?: { full_name?: string } | null }): string | null {
  const name = payload.repository?.full_name;
  return typeof name === 'string' && /^[^/\s]+\/[^/\s]+$/.test(name) ? name : null;
}

function loginOf(payload: { sender?: { login?: string } | null }): string | null {
  const login = payload.sender?.login;
  return typeof login === 'string' && login ? login : null;
}

function ignored(reason: string): GitHubEvent {
  return { kind: 'ignored', reason };
}
