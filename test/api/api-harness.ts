import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment, type IDeployment } from '../../src/db/entities/index.js';
import type { ApiScope, Role } from '../../src/vocabulary.js';
import { API_SCOPES } from '../../src/vocabulary.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { runCommand } from '../harness/run-command.js';
import { startChatSlipway } from '../support/chat-stack.js';
import type { TestDatabase } from '../support/database.js';
import { reportGreen } from '../support/fixtures.js';

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export const ROOT = { platform: 'web' as const, workspace: 'local', userId: 'root' };

/**
 * A whole Slipway in this process on a test database, with helpers that talk to its REST API
 * over real HTTP: tokens for members with chosen roles and scopes, and a local git repository
 * plus a scratch folder for projects that deploy with the `local` transport.
 */
export async function startApiStack(database: TestDatabase, env: Record<string, string> = {}) {
  const stack = await startChatSlipway(database, { SLIPWAY_ADMINS: 'web:local:root', ...env });
  const repo: FixtureRepository = await createFixtureRepository();
  // A tag on the first commit, for deployments "from tag".
  await runCommand('git', ['-C', repo.path, 'tag', 'v1.0.0', repo.commits[0]!]);
  const folder = await mkdtemp(join(tmpdir(), 'slipway-api-'));
  const { access } = stack.slipway.services;
  const { tokens } = stack.slipway.services;
  const system = { memberId: null, name: 'test setup', source: 'test' };

  /** A token for the member behind `user` (web:local:<user>), holding `role` on `project`. */
  const token = async (
    user: string,
    scopes: readonly ApiScope[] | 'all',
    grants: { project: string; role: Role }[] = [],
  ): Promise<string> => {
    const identity = { platform: 'web' as const, workspace: 'local', userId: user, displayName: user };
    for (const grant of grants) await access.assignRole(system, grant.project, identity, grant.role);
    const created = await tokens.create(system, {
      member: { identity },
      name: `${user}-token`,
      scopes: scopes === 'all' ? API_SCOPES : scopes,
    });
    return created.token;
  };

  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    let body: unknown = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { raw: text };
    }
    return { status: response.status, body: body as T, headers: response.headers, text };
  };

  /**
   * A project created over the API: the fixture repository, one `local` server per name, and
   * the given environments on those servers.
   */
  const project = async (
    admin: string,
    name: string,
    environments: { name: string; tier?: string; servers?: string[]; approvals_required?: number }[],
    servers: string[] = ['local-1'],
    /** CI reports every commit green (the default), so test gates pass. */
    options: { green?: boolean } = {},
  ) => {
    const created = await call('POST', '/api/v1/projects', {
      token: admin,
      body: { name, repository: repo.path, branch: 'main', retain_deployments: 3 },
    });
    if (created.status !== 201) throw new Error(`project: ${created.status} ${created.text}`);
    for (const server of servers) {
      const added = await call('POST', `/api/v1/projects/${name}/servers`, {
        token: admin,
        body: { name: server, transport: 'local', deploymentPath: join(folder, name, server) },
      });
      if (added.status !== 201) throw new Error(`server: ${added.status} ${added.text}`);
    }
    for (const environment of environments) {
      const made = await call('POST', `/api/v1/projects/${name}/environments`, {
        token: admin,
        body: { branch: 'main', servers, ...environment },
      });
      if (made.status !== 201) throw new Error(`environment: ${made.status} ${made.text}`);
    }
    if (options.green !== false) await reportGreen(stack.slipway.services.statuses, name, repo.path);
  };

  const waitFor = async (id: string, done: (d: IDeployment) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await stack.em().findOneOrFail(Deployment, { id });
      if (done(d)) return d;
      if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${d.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  return {
    stack,
    slipway: stack.slipway,
    repo,
    folder,
    token,
    call,
    project,
    waitFor,
    /** The root admin (SLIPWAY_ADMINS) with every scope. */
    rootToken: () => token(ROOT.userId, 'all'),
    async stop() {
      await stack.stop();
      await repo.cleanup();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

export type ApiStack = Awaited<ReturnType<typeof startApiStack>>;

export const ended = (d: IDeployment) => !['queued', 'running', 'awaiting_approval'].includes(d.status);
