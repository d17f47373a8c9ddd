import { describe, expect, it } from 'vitest';
import { replyToBlocks } from '../../adapters/slack/blocks.js';
import { manifestWarnings, slackManifest } from '../../adapters/slack/manifest.js';
import { signSlackRequest, verifySlackSignature } from '../../adapters/slack/signature.js';
import { COMMANDS } from '../../commands/index.js';
import { deploymentReply } from '../../src/chat/replies.js';
import type { DeploymentView } from '../../src/core/deployments/index.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

describe('Slack v0 signatures', () => {
  const body = Buffer.from('token=x&team_id=T1&command=%2Fdeploy&text=api+staging');
  const now = 1_700_000_000;

  it('accepts a signature made with the secret within five minutes', () => {
    const signature = signSlackRequest(SECRET, String(now), body);
    expect(verifySlackSignature(SECRET, { signature, timestamp: String(now) }, body, now)).toEqual({
      ok: true,
    });
    expect(verifySlackSignature(SECRET, { signature, timestamp: String(now) }, body, now + 299).ok).toBe(
      true,
    );
  });

  it('refuses stale, future, missing, malformed or altered requests', () => {
    const signature = signSlackRequest(SECRET, String(now), body);
    const check = (s: string | undefined, t: string | undefined, b = body, at = now) =>
      verifySlackSignature(SECRET, { signature: s, timestamp: t }, b, at);
    expect(check(signature, String(now), body, now + 301)).toEqual({ ok: false, reason: 'stale timestamp' });
    expect(check(signature, String(now), body, now - 301)).toEqual({ ok: false, reason: 'stale timestamp' });
    expect(check(undefined, String(now))).toEqual({ ok: false, reason: 'missing signature headers' });
    expect(check(signature, undefined)).toEqual({ ok: false, reason: 'missing signature headers' });
    expect(check(signature, 'yesterday')).toEqual({ ok: false, reason: 'malformed timestamp' });
    expect(check(signature, String(now), Buffer.from(`${body.toString()}x`)).ok).toBe(false);
    expect(check('v0=short', String(now)).ok).toBe(false);
    expect(check(signSlackRequest('other', String(now), body), String(now)).ok).toBe(false);
  });
});

describe('the Slack manifest', () => {
  it('is generated from the command files', () => {
    const manifest = slackManifest(COMMANDS, 'https://slipway.example.com/');
    const commands = manifest.features.slash_commands.map((c) => c.command);
    expect(commands).toEqual(['/deploy', '/promote', '/slipway']);
    expect(manifest.features.slash_commands[0]).toMatchObject({
      url: 'https://slipway.example.com/slack/events',
      usage_hint: '<project> <env> [ref] [confirm|force [reason]]',
    });
    expect(manifest.settings.interactivity.request_url).toBe('https://slipway.example.com/slack/events');
    expect(manifest.oauth_config.scopes.bot).toContain('commands');
    const socket = slackManifest(COMMANDS, 'https://x', { socketMode: true });
    expect(socket.settings.socket_mode_enabled).toBe(true);
    expect(JSON.stringify(socket)).not.toContain('/slack/events');
  });

  it('asks Slack for real mentions and gives hints that fit without cutting a word', () => {
    const manifest = slackManifest(COMMANDS, 'https://slipway.example.com/');
    for (const command of manifest.features.slash_commands) {
      // Slack then sends a picked person as <@U123|name>, never a name anyone could type.
      expect(command.should_escape).toBe(true);
      expect(command.usage_hint.length).toBeLessThanOrEqual(100);
    }
    const umbrella = manifest.features.slash_commands.find((c) => c.command === '/slipway');
    const names = new Set([...COMMANDS.map((c) => c.name), '…']);
    for (const part of umbrella?.usage_hint.split(' | ') ?? []) expect(names).toContain(part);
    expect(umbrella?.usage_hint.startsWith('help | deploy | promote')).toBe(true);
  });

  it('warns when Slack could not reach the request URL', () => {
    for (const url of [
      'http://localhost:3000',
      'http://127.0.0.1:3000',
      'https://10.1.2.3',
      'http://[::1]:3000',
      'https://slipway',
    ]) {
      expect(manifestWarnings(url)[0]).toMatch(/not public/);
    }
    expect(manifestWarnings('http://slipway.example.com')[0]).toMatch(/not https/);
    expect(manifestWarnings('https://slipway.example.com')).toEqual([]);
    expect(manifestWarnings('http://localhost:3000', { socketMode: true })).toEqual([]);
  });
});

describe('deployment messages', () => {
  const base: DeploymentView = {
    id: '6f1c2f8e-3c1b-4a5e-9d2b-0c1f2e3d4a5b',
    number: 7,
    project: 'api',
    environment: 'production',
    kind: 'deploy',
    status: 'running',
    ref: 'main',
    commit: 'a'.repeat(40),
    commitMessage: null,
    commitAuthor: null,
    changes: null,
    promotedFrom: null,
    requestedBy: 'dev',
    requestedById: null,
    releaseName: null,
    forced: false,
    forceReason: null,
    previousRelease: null,
    failureReason: null,
    cancelRequestedBy: null,
    createdAt: new Date('2026-11-22T10:00:00Z'),
    startedAt: new Date('2026-11-22T10:00:01Z'),
    finishedAt: null,
    durationMs: null,
    servers: [
      { server: 'web-1', done: 2, total: 6, current: 'install', failed: null },
      { server: 'web-2', done: 1, total: 6, current: 'link', failed: null },
    ],
    approval: null,
  };

  it('shows step k/n per server while running, with a Cancel button', () => {
    const reply = deploymentReply(base);
    expect(reply.text).toBe('Running: web-1: step 3/6 (install), web-2: step 2/6 (link)');
    expect(reply.buttons?.map((b) => b.actionId)).toEqual(['cancel']);
    const { blocks, text } = replyToBlocks(reply);
    expect(text).toContain('Deploy #7 · api → production');
    expect(JSON.stringify(blocks)).toContain('"action_id":"cancel"');
  });

  it('shows the failing step and its log tail when failed, and escapes Slack markup', () => {
    const reply = deploymentReply({
      ...base,
      status: 'failed',
      failureReason: 'install exited with 1 on web-2',
      servers: [
        {
          server: 'web-2',
          done: 2,
          total: 6,
          current: null,
          failed: { name: 'install', status: 'failed', outputTail: 'npm ERR! <@U123> & co' },
        },
      ],
    });
    expect(reply.status).toBe('error');
    expect(reply.text).toContain('Failed at step "install" on web-2');
    expect(reply.code).toBe('npm ERR! <@U123> & co');
    expect(reply.buttons).toBeUndefined();
    // A log tail is someone else's text: inside the code block too it is escaped, so Slack shows
    // it instead of pinging the user (issue 14, item 15).
    expect(JSON.stringify(replyToBlocks(reply).blocks)).toContain('npm ERR! &lt;@U123&gt; &amp; co');
    expect(JSON.stringify(replyToBlocks(reply).blocks)).not.toContain('<@U123>');
  });

  it('never lets a log tail, a reason or a ref ping the channel or disguise a link', () => {
    const hostile = '<!channel> see <https://evil.example/x|the docs> <!here> <@U999>';
    const reply = deploymentReply({
      ...base,
      ref: '<!channel>',
      status: 'failed',
      failureReason: hostile,
      servers: [
        {
          server: 'web-1',
          done: 1,
          total: 2,
          current: null,
          failed: { name: 'install', status: 'failed', outputTail: hostile },
        },
      ],
    });
    const rendered = replyToBlocks(reply);
    const everything = JSON.stringify(rendered);
    for (const markup of ['<!channel>', '<!here>', '<https://evil.example/x|the docs>', '<@U999>']) {
      expect(everything).not.toContain(markup);
    }
    expect(everything).toContain('&lt;!channel&gt;');
    expect(rendered.text).toContain('&lt;!channel&gt;');
  });

  it('shows the duration and a Rollback button when finished with a release behind it', () => {
    const reply = deploymentReply({
      ...base,
      status: 'finished',
      finishedAt: new Date('2026-11-22T10:00:13Z'),
      durationMs: 12_345,
      releaseName: '20261122100001-x',
      previousRelease: '20261121100001-w',
    });
    expect(reply.text).toBe('Finished in 12.3 s: release 20261122100001-x.');
    expect(reply.buttons?.map((b) => b.actionId)).toEqual(['rollback']);
  });

  it('offers no Rollback button on a first release: there is nothing to go back to', () => {
    const reply = deploymentReply({
      ...base,
      status: 'finished',
      finishedAt: new Date('2026-11-22T10:00:13Z'),
      durationMs: 12_345,
      releaseName: '20261122100001-x',
      previousRelease: null,
    });
    expect(reply.buttons ?? []).toEqual([]);
  });
});
