import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleSignIn } from '../../src/core/access/index.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { startChatSlipway, trustRepository } from '../support/chat-stack.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = skipSshSuites || (!existsSync(CHROMIUM) && process.env.CI !== 'true');

/**
 * The web console in real headless Chromium: one person types a deploy, a second person
 * approves it in their own browser, both watch it finish live.
 */
describe.skipIf(skip)('web console in Chromium', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let stack: Awaited<ReturnType<typeof startChatSlipway>>;
  let browser: Browser;

  beforeAll(async () => {
    database = await createTestDatabase();
    hosts = await startSshHosts(1);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustRepository(repo.path);
    stack = await startChatSlipway(database, {});
    await stack.project(hosts, repo.path, {
      name: 'webapp',
      environments: [{ name: 'production', tier: 'production', approvals: 1 }],
    });
    await stack.grant(
      'webapp',
      { platform: 'web', workspace: 'local', userId: 'dev', name: 'dev' },
      'deployer',
    );
    await stack.grant(
      'webapp',
      { platform: 'web', workspace: 'local', userId: 'carol', name: 'carol' },
      'approver',
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  /** Each person signs in with their own one-time link (what `slipway console-login` prints). */
  const login = async (user: string): Promise<Page> => {
    const link = await stack.slipway.services.consoleSignIn.issueLink(
      { memberId: null, name: 'test', source: 'test' },
      { platform: 'web', workspace: 'local', userId: user, displayName: user },
    );
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    // The link as printed, on the address the test server listens at.
    await page.goto(`${stack.url}/console#sign-in=${ConsoleSignIn.tokenOf(link.url)}`);
    return page;
  };

  it('a used link signs nobody in, and the API refuses requests without a session', async () => {
    const link = await stack.slipway.services.consoleSignIn.issueLink(
      { memberId: null, name: 'test', source: 'test' },
      { platform: 'web', workspace: 'local', userId: 'mallory', displayName: 'mallory' },
    );
    const target = `${stack.url}/console#sign-in=${ConsoleSignIn.tokenOf(link.url)}`;
    const first = await browser.newContext();
    const firstPage = await first.newPage();
    await firstPage.goto(target);
    await firstPage.waitForSelector('#cmd-text');
    expect(await firstPage.textContent('#me')).toContain('web:local:mallory');
    // The token left the address bar at once.
    expect(firstPage.url()).toBe(`${stack.url}/console`);
    const second = await browser.newContext();
    const page = await second.newPage();
    await page.goto(target);
    await expect.poll(() => page.textContent('#login-error')).toContain('not valid');
    // Signing out ends the session: a reload shows the sign-in help.
    await firstPage.click('#logout');
    await firstPage.waitForSelector('#login:not(.hidden)');
    await first.close();
    await second.close();
    const response = await fetch(`${stack.url}/console/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: stack.url },
      body: JSON.stringify({ text: 'deploy webapp production' }),
    });
    expect(response.status).toBe(401);
  });

  it('types a deploy, a second user approves it, both see it finish; screenshot saved', async () => {
    const dev = await login('dev');
    await dev.waitForSelector('#cmd-text');
    await dev.fill('#cmd-text', '/deploy webapp production');
    await dev.press('#cmd-text', 'Enter');
    const card = dev.locator('.msg', { hasText: 'Deploy #1 · webapp → production' });
    await card.waitFor();
    await expect.poll(() => card.textContent()).toContain('Waiting for approval: 0/1');

    // The requester's own click is refused, privately.
    await card.locator('button[data-action="approve"]').click();
    await dev.locator('.msg.ephemeral', { hasText: 'You asked for this deployment' }).waitFor();

    const carol = await login('carol');
    const carolsCard = carol.locator('.msg', { hasText: 'Deploy #1 · webapp → production' });
    await carolsCard.waitFor();
    await carolsCard.locator('button[data-action="approve"]').click();

    for (const page of [dev, carol]) {
      await page
        .locator('.msg.success', { hasText: 'Deploy #1 · webapp → production' })
        .waitFor({ timeout: 60_000 });
    }
    const finished = await card.textContent();
    expect(finished).toContain('Finished in');
    expect(finished).toContain('carol');
    expect(await dev.locator('.msg.ephemeral').count()).toBe(1);
    expect(await carol.locator('.msg.ephemeral').count()).toBe(0);

    await mkdir('test-artifacts', { recursive: true });
    await dev.screenshot({ path: 'test-artifacts/web-console.png', fullPage: true });
  });
});
