import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebConsoleAdapter } from '../../adapters/web/console.js';
import { type ConsoleUser, consoleUser, replyText } from '../support/console-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, ended, startApiStack } from './api-harness.js';

const GITHUB_URL = 'https://github.com/acme/shop.git';

type DeploymentJson = {
  id: string;
  commit_hash: string;
  commit_message: string | null;
  commit_author: string | null;
};

/**
 * Commit context over the REST API and in chat: messages and authors read from git, the commits
 * between what is live and what will ship on the cards, and GitHub's compare page. The project's
 * repository is a GitHub URL that git on this host rewrites to the local fixture (insteadOf),
 * so git, the local transport and the links all see what they would for a real GitHub project.
 */
describe('commit context', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let dev: string;
  let carol: string;
  let home: string;
  let devChat: ConsoleUser;
  const previousHome = process.env.HOME;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    home = await mkdtemp(join(tmpdir(), 'slipway-home-'));
    await writeFile(join(home, '.gitconfig'), `[url "${api.repo.path}"]\n\tinsteadOf = ${GITHUB_URL}\n`);
    process.env.HOME = home;
    root = await api.rootToken();
    const created = await api.call('POST', '/api/v1/projects', {
      token: root,
      body: { name: 'shop', repository: GITHUB_URL, provider: 'github', branch: 'main' },
    });
    expect(created.status, created.text).toBe(201);
    for (const server of ['s1', 'p1']) {
      const added = await api.call('POST', '/api/v1/projects/shop/servers', {
        token: root,
        body: { name: server, transport: 'local', deploymentPath: join(api.folder, 'shop', server) },
      });
      expect(added.status, added.text).toBe(201);
    }
    for (const [name, tier, servers, approvals] of [
      ['staging', 'staging', ['s1'], 0],
      ['production', 'production', ['p1'], 1],
    ] as const) {
      const made = await api.call('POST', '/api/v1/projects/shop/environments', {
        token: root,
        body: { name, tier, branch: 'main', servers, approvals_required: approvals },
      });
      expect(made.status, made.text).toBe(201);
    }
    dev = await api.token('dev', ['deployments:create'], [{ project: 'shop', role: 'deployer' }]);
    carol = await api.token('carol', ['deployments:create'], [{ project: 'shop', role: 'approver' }]);
    const web = api.slipway.adapters.find((a) => a.platform === 'web') as WebConsoleAdapter;
    const consoleService = { url: api.stack.url, signIn: api.slipway.services.consoleSignIn };
    devChat = await consoleUser(consoleService, 'dev', web);
  });
  afterAll(async () => {
    process.env.HOME = previousHome;
    await api?.stop();
    await database?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const green = async (sha: string) => {
    const reported = await api.call('POST', `/api/v1/projects/shop/commits/${sha}/statuses`, {
      token: root,
      body: { state: 'success', context: 'ci' },
    });
    expect(reported.status).toBe(201);
  };

  it('stores the message and author of every deployment, read from git', async () => {
    const [a] = api.repo.commits as [string];
    await green(a);
    for (const environment of ['staging', 'production']) {
      const created = await api.call<{ deployment: DeploymentJson }>(
        'POST',
        '/api/v1/projects/shop/deployments',
        {
          token: dev,
          body: { environment, from: 'sha', sha: a },
        },
      );
      expect(created.status, created.text).toBe(201);
      expect(created.body.deployment).toMatchObject({
        commit_message: 'First release',
        commit_author: 'Fixture',
      });
      const id = created.body.deployment.id;
      if (environment === 'production') {
        const approved = await api.call('POST', `/api/v1/projects/shop/deployments/${id}/approve`, {
          token: carol,
        });
        expect(approved.status, approved.text).toBe(200);
      }
      expect((await api.waitFor(id, ended)).status).toBe('finished');
    }
  });

  it('lists the commits since a SHA on a branch (seed 000), with the compare page', async () => {
    const [a] = api.repo.commits as [string];
    for (let n = 1; n <= 12; n++) {
      await green(
        await api.repo.commit(`Change ${n}\n\nWhy change ${n} matters.`, { CHANGES: `${n}\n` }, 'Grace'),
      );
    }
    const head = api.repo.commits.at(-1)!;
    const listed = await api.call<{
      total: number;
      behind: number;
      head: string;
      compare_url: string;
      commits: { sha: string; subject: string; message: string; author: string }[];
    }>('GET', `/api/v1/projects/shop/commits?since=${a}&branch=main`, { token: dev });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toMatchObject({ total: 13, behind: 0, head });
    expect(listed.body.commits[0]).toMatchObject({
      sha: head,
      subject: 'Change 12',
      message: 'Change 12\n\nWhy change 12 matters.',
      author: 'Grace',
    });
    expect(listed.body.commits.at(-1)?.subject).toBe('Second release');
    expect(listed.body.compare_url).toBe(`https://github.com/acme/shop/compare/${a}...${head}`);

    const limited = await api.call<{ total: number; commits: unknown[] }>(
      'GET',
      `/api/v1/projects/shop/commits?since=${a}&limit=2`,
      { token: dev },
    );
    expect(limited.body.total).toBe(13);
    expect(limited.body.commits).toHaveLength(2);

    const unknown = await api.call('GET', `/api/v1/projects/shop/commits?since=${'c'.repeat(40)}`, {
      token: dev,
    });
    expect(unknown.status).toBe(404);
    const bad = await api.call('GET', '/api/v1/projects/shop/commits?since=abc', { token: dev });
    expect(bad.status).toBe(422);
  });

  it('shows the commits between what is live and what will ship on deploy, promote and approval cards', async () => {
    const [a] = api.repo.commits as [string];
    const head = api.repo.commits.at(-1)!;
    const deployed = await devChat.type('deploy shop staging');
    const deployCard = replyText(deployed.reply);
    expect(deployCard).toContain(`Commit: ${head.slice(0, 8)} Change 12 — Grace`);
    expect(deployCard).toContain(`Ships: 13 commits since ${a.slice(0, 8)}, live on staging:`);
    expect(deployCard).toContain(`Compare: https://github.com/acme/shop/compare/${a}...${head}`);
    const id = deployed.reply.footer!.replace('deployment ', '');
    expect((await api.waitFor(id, ended)).status).toBe('finished');

    const promoted = await devChat.type('promote shop staging production');
    const card = replyText(promoted.reply);
    expect(promoted.reply.status).toBe('pending');
    expect(card).toContain('Waiting for approval: 0/1');
    expect(card).toContain(`Ships: 13 commits since ${a.slice(0, 8)}, live on production:`);
    const bullets = card.split('\n').filter((line) => line.startsWith('• '));
    expect(bullets).toHaveLength(10);
    expect(bullets[0]).toBe(`• ${head.slice(0, 8)} Change 12 — Grace`);
    expect(bullets[9]).toMatch(/ Change 3 — Grace$/);
    expect(card).toContain('and 3 more');
    expect(card).toContain(`Compare: https://github.com/acme/shop/compare/${a}...${head}`);
    expect(promoted.reply.buttons?.map((b) => b.label)).toEqual(['Approve', 'Reject']);
    if (process.env.PRINT_CARDS) process.stdout.write(`\n--- approval card ---\n${card}\n---\n`);
  });

  it('takes the message and author from a caller that knows them (a push) instead of reading git', async () => {
    const head = api.repo.commits.at(-1)!;
    const actor = { memberId: null, name: 'github', source: 'github' };
    const requested = await api.slipway.services.deployments.requestDeploy(actor, {
      project: 'shop',
      environment: 'staging',
      ref: head,
      commit: { message: 'As the push said it\n\nbody', author: 'octocat' },
    });
    expect(requested).toMatchObject({
      commitMessage: 'As the push said it\n\nbody',
      commitAuthor: 'octocat',
    });
    expect((await api.waitFor(requested.id, ended)).status).toBe('finished');
  });
});
