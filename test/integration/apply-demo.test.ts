import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleSignIn } from '../../src/core/access/index.js';
import { type ConfigPlanner, loadConfigFile } from '../../src/core/config-apply/index.js';
import { Deployment } from '../../src/db/entities/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { startChatSlipway } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The first-run path of the README: apply examples/slipway.yml to a running Slipway, then deploy
 * from the web console and see it finish — with the example's repository and folders pointed
 * at a fixture repository and a scratch folder.
 */
describe('the example slipway.yml, from apply to a deploy in the console', () => {
  let database: TestDatabase;
  let repo: FixtureRepository;
  let dir: string;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  let planner: ConfigPlanner;
  let file: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    repo = await createFixtureRepository();
    dir = await mkdtemp(join(tmpdir(), 'slipway-demo-'));
    stack = await startChatSlipway(database, {});
    planner = stack.slipway.services.planner;
    const example = await readFile(join(ROOT, 'examples', 'slipway.yml'), 'utf8');
    file = join(dir, 'slipway.yml');
    await writeFile(
      file,
      example
        .replace('repository: ..', `repository: ${repo.path}`)
        .replaceAll('../.slipway/demo/', './deploys/'),
    );
  });
  afterAll(async () => {
    await stack?.stop();
    await repo?.cleanup();
    await rm(dir, { recursive: true, force: true });
    await database?.drop();
  });

  const actor = { memberId: null, name: 'cli (test)', source: 'cli' };

  it('applies, and applying again plans nothing', async () => {
    const loaded = await loadConfigFile(file, { targets: stack.slipway.services.channels.targetRules });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const plan = await planner.plan(loaded.config, file);
    expect(plan.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      'create project demo',
      'create server laptop-staging',
      'create server laptop-production',
      'create environment staging',
      'create environment production',
      'create hook Record the deploy',
      'create linked folder storage',
      'create member web:local:demo',
      'create member web:local:reviewer',
    ]);
    const outcome = await planner.apply(plan, actor);
    expect(outcome.failed).toBeNull();
    const again = await planner.plan(loaded.config, file);
    expect(again.changes).toEqual([]);
  });

  it('deploys from the console, and promotes to production after an approval', async () => {
    // As the README says: `slipway console-login web:local:<user>` gives each a one-time link.
    const login = async (user: string) => {
      const link = await stack.slipway.services.consoleSignIn.issueLink(actor, {
        platform: 'web',
        workspace: 'local',
        userId: user,
        displayName: user,
      });
      const response = await fetch(`${stack.url}/console/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: stack.url },
        body: JSON.stringify({ token: ConsoleSignIn.tokenOf(link.url) }),
      });
      expect(response.status).toBe(200);
      return response.headers.get('set-cookie')!.split(';')[0]!;
    };
    const post = async (cookie: string, path: string, body: unknown) => {
      const response = await fetch(`${stack.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, origin: stack.url },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { id: number };
    };
    const demo = await login('demo');
    // No CI reports on the demo: staging's warn gate asks to confirm a deploy, and nothing is created.
    await post(demo, '/console/api/command', { text: 'deploy demo staging' });
    expect(await stack.deployments('demo')).toHaveLength(0);
    await post(demo, '/console/api/command', { text: 'deploy demo staging confirm' });
    const [first] = await stack.deployments('demo');
    const staged = await stack.waitFor(first!.id, (d) => !['queued', 'running'].includes(d.status));
    expect(staged.status, staged.failureReason ?? '').toBe('finished');
    const staging = join(dir, 'deploys', 'staging');
    expect(await readFile(join(staging, 'current', 'VERSION'), 'utf8')).toBe('2\n');
    expect(await readlink(join(staging, 'current', 'storage'))).toContain('shared/storage');
    expect(await readFile(join(staging, 'shared', 'deploys.log'), 'utf8')).toContain(
      `${repo.commits[1]} is live on laptop-staging`,
    );

    // The same for the promotion: confirm first, and nothing is created until then.
    const before = (await stack.deployments('demo')).length;
    await post(demo, '/console/api/command', { text: 'promote demo staging production' });
    expect(await stack.deployments('demo')).toHaveLength(before);
    const promoted = await post(demo, '/console/api/command', {
      text: 'promote demo staging production confirm',
    });
    const promotion = (await stack.deployments('demo')).at(-1)!;
    expect(promotion.status).toBe('awaiting_approval');
    const reviewer = await login('reviewer');
    await post(reviewer, '/console/api/action', {
      actionId: 'approve',
      value: promotion.id,
      messageId: promoted.id,
    });
    const live = await stack.waitFor(
      promotion.id,
      (d) => !['queued', 'running', 'awaiting_approval'].includes(d.status),
    );
    expect(live.status, live.failureReason ?? '').toBe('finished');
    expect(await readFile(join(dir, 'deploys', 'production', 'current', 'VERSION'), 'utf8')).toBe('2\n');
    expect(await stack.em().count(Deployment, { project: { name: 'demo' }, status: 'finished' })).toBe(2);
  });
});
