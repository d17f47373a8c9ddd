import { describe, expect, it } from 'vitest';
import { replyToBlocks } from '../../adapters/slack/blocks.js';
import { slackManifest } from '../../adapters/slack/manifest.js';
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
    expect(JSON.stringify(replyToBlocks(reply).blocks)).toContain('npm ERR! <@U123> & co');
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
