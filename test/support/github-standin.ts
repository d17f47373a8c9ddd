import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the stand-in received it. */
export interface GitHubRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  userAgent: string | undefined;
  body: Record<string, unknown>;
  /** What the stand-in answered. */
  status: number;
  at: number;
}

interface StoredStatus {
  id: number;
  state: string;
  description: string;
  environment_url: string;
  log_url: string;
  created_at: string;
}

interface StoredDeployment {
  id: number;
  repository: string;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description: string;
  payload: unknown;
  production_environment: boolean;
  created_at: string;
  statuses: StoredStatus[];
}

/**
 * A local stand-in for GitHub's REST API — the Deployments endpoints Slipway uses — so that the
 * real Octokit client sends real requests: create and list deployments, create and list their
 * statuses. It records every request (and what it answered), checks the token, and can be taken
 * down: `unavailable` answers 503, `unreachable` drops the connection.
 */
export async function startGitHubStandIn(options: { token: string }) {
  const requests: GitHubRequest[] = [];
  const deployments = new Map<number, StoredDeployment>();
  let mode: 'up' | 'unavailable' | 'unreachable' = 'up';
  let nextId = 1000;

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', 'http://standin');
    const record: GitHubRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      authorization: request.headers.authorization,
      userAgent: request.headers['user-agent'],
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      status: 0,
      at: Date.now(),
    };
    requests.push(record);
    const send = (status: number, body: unknown) => {
      record.status = status;
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    };
    if (mode === 'unreachable') {
      record.status = -1;
      request.socket.destroy();
      return;
    }
    if (mode === 'unavailable') return send(503, { message: 'Service Unavailable' });
    if (request.headers.authorization !== `token ${options.token}`) {
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    }

    let match = /^\/repos\/([^/]+)\/([^/]+)\/deployments$/.exec(url.pathname);
    if (match) {
      const repository = `${match[1]}/${match[2]}`;
      if (record.method === 'POST') {
        const body = record.body as Record<string, unknown>;
        if (typeof body.ref !== 'string') return send(422, { message: 'Invalid request: ref is missing' });
        const deployment: StoredDeployment = {
          id: nextId++,
          repository,
          sha: body.ref,
          ref: body.ref,
          task: String(body.task ?? 'deploy'),
          environment: String(body.environment ?? 'production'),
          description: String(body.description ?? ''),
          payload: body.payload ?? {},
          production_environment: body.production_environment === true,
          created_at: new Date().toISOString(),
          statuses: [],
        };
        deployments.set(deployment.id, deployment);
        return send(201, view(deployment));
      }
      const list = [...deployments.values()]
        .filter(
          (d) =>
            d.repository === repository &&
            (!url.searchParams.get('sha') || d.sha === url.searchParams.get('sha')) &&
            (!url.searchParams.get('environment') || d.environment === url.searchParams.get('environment')),
        )
        .sort((a, b) => b.id - a.id)
        .slice(0, Number(url.searchParams.get('per_page') ?? 30));
      return send(200, list.map(view));
    }
    match = /^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/.exec(url.pathname);
    if (match) {
      const deployment = deployments.get(Number(match[3]));
      if (!deployment || deployment.repository !== `${match[1]}/${match[2]}`) {
        return send(404, { message: 'Not Found' });
      }
      if (record.method === 'POST') {
        const body = record.body as Record<string, unknown>;
        const status: StoredStatus = {
          id: nextId++,
          state: String(body.state),
          description: String(body.description ?? ''),
          environment_url: String(body.environment_url ?? ''),
          log_url: String(body.log_url ?? ''),
          created_at: new Date().toISOString(),
        };
        deployment.statuses.push(status);
        return send(201, status);
      }
      const newestFirst = [...deployment.statuses].reverse();
      return send(200, newestFirst.slice(0, Number(url.searchParams.get('per_page') ?? 30)));
    }
    return send(404, { message: 'Not Found' });
  }

  function view(d: StoredDeployment) {
    const { statuses: _statuses, repository: _repository, ...rest } = d;
    return { ...rest, url: `http://standin/repos/${d.repository}/deployments/${d.id}` };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    deployments,
    /** The GitHub deployments made for a Slipway deployment (by the id in their payload). */
    deploymentsOf(slipwayId: string): StoredDeployment[] {
      return [...deployments.values()].filter(
        (d) => (d.payload as { slipway?: { id?: string } }).slipway?.id === slipwayId,
      );
    },
    setMode(next: 'up' | 'unavailable' | 'unreachable') {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type GitHubStandIn = Awaited<ReturnType<typeof startGitHubStandIn>>;
