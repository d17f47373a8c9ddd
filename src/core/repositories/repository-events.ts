import type { CommitBehaviour, CommitStatusState } from '../../vocabulary.js';

/**
 * What a repository host tells Slipway, in Slipway's words: a push to a branch or a tag, and a
 * CI result for a commit. The host's adapter (adapters/github/) verifies and translates its own
 * payloads into these; nothing here knows a host's payloads or API.
 */

/** The hosts whose repositories projects name (`projects.github_repository`). */
export type RepositoryHost = 'github';

export interface PushedCommit {
  /** The full sha. */
  sha: string;
  message: string | null;
  author: string | null;
}

export interface RepositoryPush {
  host: RepositoryHost;
  /** `owner/name`, as the host names it (matched case-insensitively). */
  repository: string;
  ref: { kind: 'branch' | 'tag'; name: string };
  /** The ref's new head; null when the ref was deleted. */
  head: PushedCommit | null;
  /** The commits the push added, oldest first (the host may list only some of them). */
  commits: PushedCommit[];
  created: boolean;
  deleted: boolean;
  /** The ref was moved to a commit that does not contain its old head (history rewritten). */
  forced: boolean;
  /** Who pushed, as the host names them (a login). */
  pusher: string;
}

interface ResultBase {
  project: string;
  environment: string;
  behaviour: CommitBehaviour;
}

/** What a push did to one environment that tracks its branch. */
export type PushResult =
  | (ResultBase & {
      outcome: 'deployed' | 'awaiting_approval' | 'moved';
      deployment: { id: string; number: number; status: string };
    })
  | (ResultBase & { outcome: 'recorded'; pending: number })
  | (ResultBase & { outcome: 'refused'; code: string; reason: string })
  | (ResultBase & { outcome: 'skipped'; reason: string });

export interface PushOutcome {
  repository: string;
  ref: string;
  projects: string[];
  results: PushResult[];
  /** Why nothing happened, when nothing did. */
  note?: string;
}

export interface CiResult {
  host: RepositoryHost;
  repository: string;
  /** The full sha the result is for. */
  commit: string;
  /** What ran (`build`, `github-actions`, `ci/circleci`): one state per context, the latest wins. */
  context: string;
  state: CommitStatusState;
  description: string | null;
  targetUrl: string | null;
  /** Who reported it, as the host names them. */
  reporter: string;
}

export interface CiOutcome {
  repository: string;
  commit: string;
  context: string;
  state: CommitStatusState;
  projects: string[];
}
