import { describe, expect, it } from 'vitest';
import { replyToDiscordMessage } from '../../adapters/discord/embed.js';
import { discordRetryAfter } from '../../adapters/discord/notification-sender.js';
import { replyToHtml } from '../../adapters/email/html.js';
import { replyToAdaptiveCard } from '../../adapters/teams/adaptive-card.js';
import type { Reply } from '../../src/chat/model.js';
import { failureFromResponse, parseRetryAfter } from '../../src/chat/notification-http.js';
import { notificationReply } from '../../src/chat/notifications.js';
import { replyToPlainText } from '../../src/chat/plain-text.js';
import { backoffMs, type Notification } from '../../src/core/notifications/index.js';

const failedDeploy: Notification = {
  id: 'e1',
  seq: 7,
  type: 'deployment.failed',
  occurredAt: '2026-11-23T10:00:00.000Z',
  projectId: 'p1',
  project: 'api',
  subject: 'deployment:d1',
  data: {
    actor: null,
    deployment: {
      id: 'd1',
      number: 42,
      project: 'api',
      environment: 'production',
      environmentTier: 'production',
      environmentUrl: null,
      kind: 'deploy',
      status: 'failed',
      ref: 'main',
      commit: '0123456789abcdef',
      commitMessage: 'Use *fast* path <script>',
      commitAuthor: 'Ada',
      promotedFrom: null,
      requestedBy: 'Ada',
      releaseName: null,
      failureReason: 'install exited with 3',
      cancelRequestedBy: null,
      createdAt: '2026-11-23T09:59:00.000Z',
      startedAt: '2026-11-23T09:59:10.000Z',
      finishedAt: '2026-11-23T10:00:00.000Z',
      durationMs: 50_000,
      failedStep: { server: 'web-1', name: 'install', outputTail: 'npm ERR! code E404\n'.repeat(400) },
      approval: null,
    },
  },
};

describe('notice rendering', () => {
  it('a failed deployment: the same card as chat, with the commit message and the log tail', () => {
    const reply = notificationReply(failedDeploy);
    expect(reply.title).toBe('Deploy #42 · api → production');
    expect(reply.status).toBe('error');
    expect(reply.text).toBe('Failed at step "install" on web-1: install exited with 3');
    expect(reply.fields).toContainEqual({
      label: 'Commit',
      value: '01234567 Use *fast* path <script> — Ada',
    });
    expect(reply.code).toContain('npm ERR! code E404');
  });

  it('plain text keeps everything but the buttons', () => {
    const text = replyToPlainText({
      title: 'T',
      text: 'Body',
      status: 'warning',
      fields: [
        { label: 'A', value: '1' },
        { label: 'Longer', value: '2' },
      ],
      code: 'line 1\nline 2\n',
      footer: 'id 9',
      buttons: [{ label: 'Approve', actionId: 'deployment.approve', value: 'x' }],
    });
    expect(text).toBe('[WARNING] T\n\nBody\n\nA:      1\nLonger: 2\n\n    line 1\n    line 2\n\n-- id 9');
  });

  it('Discord: within embed limits, the end of the log kept, mentions off, text not read as markdown', () => {
    const message = replyToDiscordMessage(notificationReply(failedDeploy));
    const embed = message.embeds[0] as { description: string; title: string; fields: { value: string }[] };
    expect(embed.description.length).toBeLessThanOrEqual(4096);
    expect(embed.description.endsWith('npm ERR! code E404\n\n```')).toBe(true);
    expect(embed.fields.find((f) => f.value.includes('fast'))?.value).toBe(
      '01234567 Use \\*fast\\* path <script> — Ada',
    );
    expect(message.allowed_mentions).toEqual({ parse: [] });
    const withButtons = replyToDiscordMessage({
      text: 'x',
      buttons: [{ label: 'Approve', actionId: 'approve', value: 'd1', style: 'primary' }],
    });
    expect(withButtons.components).toEqual([
      { type: 1, components: [{ type: 2, style: 1, label: 'Approve', custom_id: 'approve:d1' }] },
    ]);
    expect(replyToDiscordMessage({ text: 'x', buttons: [] }, { components: false }).components).toEqual([]);
  });

  it('Teams: an Adaptive Card 1.4 with a FactSet, monospace log and Action.Submit buttons', () => {
    const reply: Reply = {
      title: 'Deploy #1',
      text: 'Waiting for approval',
      status: 'pending',
      fields: [{ label: 'Ref', value: 'main' }],
      code: 'log',
      buttons: [{ label: 'Reject', actionId: 'deployment.reject', value: 'd1', style: 'danger' }],
    };
    const card = replyToAdaptiveCard(reply) as {
      version: string;
      body: Record<string, unknown>[];
      actions: unknown[];
    };
    expect(card.version).toBe('1.4');
    expect(card.body.map((b) => b.type)).toEqual(['RichTextBlock', 'RichTextBlock', 'FactSet', 'Container']);
    expect(card.body[0]).toEqual({
      type: 'RichTextBlock',
      inlines: [{ type: 'TextRun', text: 'Deploy #1', weight: 'Bolder', size: 'Medium', color: 'Default' }],
    });
    expect(card.actions).toEqual([
      {
        type: 'Action.Submit',
        title: 'Reject',
        style: 'destructive',
        data: { actionId: 'deployment.reject', value: 'd1' },
      },
    ]);
    expect(replyToAdaptiveCard(reply, { actions: false }).actions).toBeUndefined();
  });

  it('e-mail HTML escapes everything it did not write', () => {
    const html = replyToHtml(notificationReply(failedDeploy));
    expect(html).toContain('01234567 Use *fast* path &lt;script&gt; — Ada');
    expect(html).not.toContain('<script>');
  });
});

describe('delivery policy', () => {
  it('backs off exponentially with equal jitter, up to the cap', () => {
    const policy = { retryBaseMs: 1000, retryMaxMs: 60_000 };
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n, 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n, 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(policy, 30, 1)).toBe(60_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(5000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });

  it('classifies answers: 429 waits, 5xx retries, other 4xx need a person', async () => {
    const of = (status: number, headers: Record<string, string> = {}, body = '') =>
      failureFromResponse(new Response(body || null, { status, headers }), 'x', discordRetryAfter);
    expect(await of(429, { 'retry-after': '3' })).toMatchObject({
      kind: 'rate_limited',
      details: { retryAfterMs: 3000 },
    });
    expect(await of(429, {}, '{"retry_after": 0.25, "global": false}')).toMatchObject({
      kind: 'rate_limited',
      details: { retryAfterMs: 250 },
    });
    expect((await of(502)).kind).toBe('retryable');
    expect((await of(408)).kind).toBe('retryable');
    expect((await of(404)).kind).toBe('permanent');
    expect((await of(401)).kind).toBe('permanent');
  });
});
