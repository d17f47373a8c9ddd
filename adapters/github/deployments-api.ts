import { Octokit } from '@octokit/rest';
import { failureFromError, NotificationSendError, parseRetryAfter } from '../../src/chat/index.js';

/** The states of a GitHub deployment status that Slipway reports. */
export type DeploymentState =
  | 'pending'
  | 'queued'
  | 'in_progress'
  | 'success'
  | 'failure'
  | 'error'
  | 'inactive';

export interface GitHubDeploymentRef {
  id: number;
  sha: string;
}

export interface NewGitHubDeployment {
  sha: string;
  environment: string;
  description: string;
  production: boolean;
  /** Carried in the deployment's payload: how a retry finds the deployment it may already have made. */
  slipwayId: string;
  number: number;
  project: string;
}

export interface NewDeploymentStatus {
  state: DeploymentState;
  description: string;
  environmentUrl: string | null;
  logUrl: string;
}

/**
 * GitHub's Deployments API through Octokit (`@octokit/rest`), for one token: create a deployment,
 * add its statuses, find earlier ones. Failures come out as NotificationSendErrors the delivery
 * worker understands: network errors and 5xx are retried, rate limits (429, or 403 with
 * Retry-After or no requests left) wait for GitHub's time, other 4xx are permanent (a bad token,
 * a repository the token cannot see, a commit GitHub does not know).
 */
export class GitHubDeploymentsApi {
  private readonly octokit: Octokit;

  constructor(options: { token: string; apiUrl: string }) {
    this.octokit = new Octokit({
      auth: options.token,
      baseUrl: options.apiUrl.replace(/\/+$/, ''),
      userAgent: 'Slipway',
      // Octokit would print deprecation notices to the console; Slipway logs what matters itself.
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
  }

  async create(
    repository: string,
    input: NewGitHubDeployment,
    signal: AbortSignal,
  ): Promise<GitHubDeploymentRef> {
    const { owner, repo } = split(repository);
    const response = await this.call(`create a deployment in ${repository}`, () =>
      this.octokit.rest.repos.createDeployment({
        owner,
        repo,
        ref: input.sha,
        task: 'deploy',
        environment: input.environment,
        description: input.description.slice(0, 140),
        // Slipway deploys exactly this commit and runs its own gates: GitHub must neither merge
        // the default branch into it nor hold it for commit statuses.
        auto_merge: false,
        required_contexts: [],
        production_environment: input.production,
        payload: { slipway: { id: input.slipwayId, number: input.number, project: input.project } },
        request: { signal },
      }),
    );
    const id = (response.data as { id?: unknown }).id;
    if (typeof id !== 'number') {
      throw new NotificationSendError(
        'retryable',
        `GitHub did not create the deployment in ${repository}: ${JSON.stringify(response.data).slice(0, 200)}`,
      );
    }
    return { id, sha: input.sha };
  }

  /** The deployment a retry may already have created: same commit, environment and Slipway id. */
  async find(
    repository: string,
    input: Pick<NewGitHubDeployment, 'sha' | 'environment' | 'slipwayId'>,
    signal: AbortSignal,
  ): Promise<GitHubDeploymentRef | null> {
    const { owner, repo } = split(repository);
    const response = await this.call(`list deployments in ${repository}`, () =>
      this.octokit.rest.repos.listDeployments({
        owner,
        repo,
        sha: input.sha,
        environment: input.environment,
        per_page: 30,
        request: { signal },
      }),
    );
    const found = response.data.find(
      (deployment) =>
        (deployment.payload as { slipway?: { id?: unknown } } | null)?.slipway?.id === input.slipwayId,
    );
    return found ? { id: found.id, sha: input.sha } : null;
  }

  async addStatus(
    repository: string,
    deploymentId: number,
    status: NewDeploymentStatus,
    signal: AbortSignal,
  ): Promise<void> {
    const { owner, repo } = split(repository);
    await this.call(`report ${status.state} to ${repository}`, () =>
      this.octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: deploymentId,
        state: status.state,
        description: status.description.slice(0, 140),
        log_url: status.logUrl,
        ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
        // Slipway marks the replaced deployment inactive itself, production included.
        auto_inactive: false,
        request: { signal },
      }),
    );
  }

  /**
   * The environment's deployments older than `newer` whose latest status is success: what a new
   * successful deployment replaces. One page of the most recent ones is enough — each success
   * Slipway reports makes the one before it inactive.
   */
  async activeBefore(
    repository: string,
    environment: string,
    newer: number,
    signal: AbortSignal,
  ): Promise<number[]> {
    const { owner, repo } = split(repository);
    const response = await this.call(`list deployments in ${repository}`, () =>
      this.octokit.rest.repos.listDeployments({
        owner,
        repo,
        environment,
        per_page: 20,
        request: { signal },
      }),
    );
    const active: number[] = [];
    for (const deployment of response.data) {
      if (deployment.id >= newer) continue;
      const statuses = await this.call(`read statuses in ${repository}`, () =>
        this.octokit.rest.repos.listDeploymentStatuses({
          owner,
          repo,
          deployment_id: deployment.id,
          per_page: 1,
          request: { signal },
        }),
      );
      if (statuses.data[0]?.state === 'success') {
        active.push(deployment.id);
        break;
      }
    }
    return active;
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw failureOf(error, `GitHub (${what})`);
    }
  }
}

function split(repository: string): { owner: string; repo: string } {
  const [owner, repo] = repository.split('/');
  if (!owner || !repo) throw new NotificationSendError('permanent', `"${repository}" is not owner/name`);
  return { owner, repo };
}

interface OctokitFailure {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

/** How the delivery worker should take an Octokit error. */
export function failureOf(error: unknown, what: string): NotificationSendError {
  const failure = error as OctokitFailure;
  // No response: the request never got an answer (refused, reset, timed out, aborted).
  if (!failure.response || typeof failure.status !== 'number') return failureFromError(error, what);
  const status = failure.status;
  const headers = failure.response.headers ?? {};
  const detail = `${what} answered HTTP ${status}: ${String(failure.message ?? '').slice(0, 300)}`;
  const retryAfter = parseRetryAfter(
    headers['retry-after'] === undefined ? null : String(headers['retry-after']),
  );
  const exhausted = String(headers['x-ratelimit-remaining'] ?? '') === '0';
  if (status === 429 || (status === 403 && (retryAfter !== null || exhausted))) {
    const reset = Number(headers['x-ratelimit-reset']);
    const untilReset =
      Number.isFinite(reset) && reset > 0 ? Math.max(1000, reset * 1000 - Date.now()) : 60_000;
    return new NotificationSendError('rate_limited', detail, {
      status,
      retryAfterMs: retryAfter ?? untilReset,
    });
  }
  if (status >= 500 || status === 408) {
    return new NotificationSendError('retryable', detail, {
      status,
      ...(retryAfter ? { retryAfterMs: retryAfter } : {}),
    });
  }
  return new NotificationSendError('permanent', detail, { status });
}
