import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config-apply/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

interface ProjectJson {
  project: { name: string; repository: string; github_repository: string | null };
}
interface ChannelsJson {
  notifications: { name: string; type: string; options: Record<string, unknown>; events: string[] }[];
}

/**
 * A project's GitHub repository: derived from a github.com URL, named by hand for anything else,
 * through the REST API and `slipway apply`; the reporting channel follows it.
 */
describe("a project's github_repository", () => {
  let database: TestDatabase;
  let api: ApiStack;
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    // A token makes GitHub reporting available; nothing here reaches GitHub.
    api = await startApiStack(database, {
      GITHUB_TOKEN: 'ghs_unused0123456789abcdefghij',
      GITHUB_API_URL: 'http://127.0.0.1:9',
    });
    admin = await api.rootToken();
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  const channels = async (project: string) =>
    (await api.call<ChannelsJson>('GET', `/api/v1/projects/${project}/notifications`, { token: admin })).body
      .notifications;

  it('is derived from a github.com URL, named by hand otherwise, and refused when it is not owner/name', async () => {
    const derived = await api.call<ProjectJson>('POST', '/api/v1/projects', {
      token: admin,
      body: { name: 'api', repository: 'https://x-access-token:ghs_secret@github.com/Acme/API.git' },
    });
    expect(derived.status, derived.text).toBe(201);
    expect(derived.body.project.github_repository).toBe('acme/api');
    expect(derived.text).not.toContain('ghs_secret');

    const mirror = await api.call<ProjectJson>('POST', '/api/v1/projects', {
      token: admin,
      body: { name: 'mirror', repository: api.repo.path, github_repository: 'Acme/Mirror' },
    });
    expect(mirror.body.project.github_repository).toBe('acme/mirror');
    const plain = await api.call<ProjectJson>('POST', '/api/v1/projects', {
      token: admin,
      body: { name: 'plain', repository: api.repo.path },
    });
    expect(plain.body.project.github_repository).toBeNull();

    const bad = await api.call<{ errors: Record<string, string[]> }>('POST', '/api/v1/projects', {
      token: admin,
      body: { name: 'bad', repository: api.repo.path, github_repository: 'acme' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.github_repository).toEqual([expect.stringMatching(/owner\/name/)]);
  });

  it('follows the repository URL when it was derived, stays when named by hand, and can be cleared', async () => {
    const moved = await api.call<ProjectJson>('PUT', '/api/v1/projects/api/source', {
      token: admin,
      body: { repository: 'git@github.com:acme/api-v2.git' },
    });
    expect(moved.body.project.github_repository).toBe('acme/api-v2');
    const kept = await api.call<ProjectJson>('PUT', '/api/v1/projects/mirror/source', {
      token: admin,
      body: { repository: '/srv/git/mirror.git' },
    });
    expect(kept.body.project.github_repository).toBe('acme/mirror');
    const cleared = await api.call<ProjectJson>('PUT', '/api/v1/projects/mirror/source', {
      token: admin,
      body: { github_repository: null },
    });
    expect(cleared.body.project.github_repository).toBeNull();
    const [audit] = await database.query<{ details: { changed: string[] } }>(
      `select details from audit_events where action = 'project.source.update' order by id desc limit 1`,
    );
    expect(audit?.details.changed).toEqual(['githubRepository']);
  });

  it('keeps one GitHub reporting channel per project that has a repository', async () => {
    // api: created on acme/api, pointed at acme/api-v2 when the URL moved.
    expect(await channels('api')).toEqual([
      expect.objectContaining({
        name: 'github-deployments',
        type: 'github',
        options: expect.objectContaining({ target: 'acme/api-v2' }),
        events: expect.arrayContaining(['deployment.queued', 'deployment.finished', 'approval.requested']),
      }),
    ]);
    // mirror: its repository was cleared, so was the channel; plain never had one.
    expect(await channels('mirror')).toEqual([]);
    expect(await channels('plain')).toEqual([]);
    const made = await database.query<{ actor_name: string; action: string }>(
      `select actor_name, action from audit_events where action like 'notification_channel.%' order by id`,
    );
    expect(made.map((row) => row.action)).toEqual([
      'notification_channel.create',
      'notification_channel.create',
      'notification_channel.update',
      'notification_channel.delete',
    ]);
    expect(new Set(made.map((row) => row.actor_name))).toEqual(new Set(['Slipway']));
    // A channel of one's own is not doubled, and a project switched off stays off.
    await api.call('PUT', '/api/v1/projects/api/notifications/github-deployments', {
      token: admin,
      body: { active: false },
    });
    await api.slipway.services.reporting.sync();
    expect((await channels('api')).map((c) => c.name)).toEqual(['github-deployments']);
  });

  it('is set by slipway apply, derived when left out, and its channel is never pruned', async () => {
    const yaml = (extra: string) => `
projects:
  - name: shop
    repository: https://github.com/acme/shop.git
  - name: vendored
    repository: ${api.repo.path}
    github_repository: Acme/Vendored
${extra}`;
    const { planner, channels: channelService } = api.slipway.services;
    const load = (text: string) => {
      const loaded = parseConfig(text, 'slipway.yml', { targets: channelService.targetRules });
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
      return loaded.config;
    };
    const actor = { memberId: null, name: 'cli (test)', source: 'cli' };
    const plan = await planner.plan(load(yaml('')), 'slipway.yml');
    expect(plan.changes.map((c) => [c.kind, c.name, c.details])).toEqual([
      ['project', 'shop', expect.arrayContaining(['github_repository: acme/shop'])],
      ['project', 'vendored', expect.arrayContaining(['github_repository: acme/vendored'])],
    ]);
    expect((await planner.apply(plan, actor)).failed).toBeNull();
    expect((await planner.plan(load(yaml('')), 'slipway.yml')).changes).toEqual([]);

    // Its own channels, pruned to the file's list: the reporting channel stays.
    const withNotifications = `
projects:
  - name: shop
    repository: https://github.com/acme/shop.git
    notifications: []
`;
    expect((await channels('shop')).map((c) => c.name)).toEqual(['github-deployments']);
    const pruned = await planner.plan(load(withNotifications), 'slipway.yml', { prune: true });
    expect(pruned.changes).toEqual([]);

    const renamed = await planner.plan(
      load(yaml('').replace('github_repository: Acme/Vendored', 'github_repository: null')),
      'slipway.yml',
    );
    expect(renamed.changes.map((c) => [c.name, c.details])).toEqual([
      ['vendored', ['github_repository: acme/vendored → (none)']],
    ]);
  });
});
