/**
 * What the GitHub adapter needs from the rest of Slipway, in neutral words (no GitHub payloads,
 * no core types): the wiring (src/app/start.ts) connects these ports to the core services.
 */

export type CommitState = 'pending' | 'success' | 'failure' | 'error';

export interface PushedCommit {
  sha: string;
  message: string | null;
  author: string | null;
}

/** A push, as Slipway's core takes it. */
export interface RepositoryPush {
  host: 'github';
  /** `owner/name`. */
  repository: string;
  ref: { kind: 'branch' | 'tag'; name: string };
  /** The new head; null when the ref was deleted. */
  head: PushedCommit | null;
  /** Oldest first. */
  commits: PushedCommit[];
  created: boolean;
  deleted: boolean;
  forced: boolean;
  /** The login of the person who pushed. */
  pusher: string;
}

/** A CI result for a commit, as Slipway's core takes it. */
export interface CiResult {
  host: 'github';
  repository: string;
  commit: string;
  context: string;
  state: CommitState;
  description: string | null;
  targetUrl: string | null;
  reporter: string;
}

/** The core's side: what a push and a CI result do. The answers go back to GitHub as the response body. */
export interface RepositoryEvents {
  push(push: RepositoryPush): Promise<unknown>;
  ciResult(result: CiResult): Promise<unknown>;
}

/**
 * Deliveries already acted on, shared by the replicas (the core's inbound ledger): `claim` is true
 * for the first caller only, within `ttlSeconds`.
 */
export interface DeliveryLedger {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /** Keeps a claimed key for `ttlSeconds` from now. */
  keep(key: string, ttlSeconds: number): Promise<void>;
  /** Forgets a key, so that a redelivery runs again. */
  forget(key: string): Promise<void>;
}
