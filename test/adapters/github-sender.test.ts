import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubNotificationSender } from '../../adapters/github/notification-sender.js';
import type { Notification, NotificationSender, OutgoingNotification } from '../../src/chat/index.js';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-standin.js';

const TOKEN = 'ghs_sender0123456789abcdefghijkl';
const SHA = 'a'.repeat(40);

function notification(
  type: Notification['type'],
  overrides: { commit?: string | null; id?: string; inDoubt?: boolean; previous?: string | null } = {},
): OutgoingNotification {
  const id = overrides.id ?? '6f1c2a52-3a4b-4c5d-8e9f-0a1b2c3d4e5f';
  const event = {
    id: 'event-1',
    seq: 1,
    type,
    occurredAt: new Date().toISOString(),
    projectId: 'p1',
    project: 'shop',
    subject: `deployment:${id}`,
    data: {
      actor: null,
      deployment: {
        id,
        number: 7,
        project: 'shop',
        environment: 'production',
        environmentTier: 'production',
        environmentUrl: 'https://shop.test',
        kind: 'deploy',
        status: 'queued',
        ref: 'main',
        commit: overrides.commit === undefined ? SHA : overrides.commit,
        commitMessage: null,
        commitAuthor: null,
        promotedFrom: null,
        requestedBy: 'github:octocat',
        releaseName: null,
        failureReason: null,
        cancelRequestedBy: null,
        createdAt: new Date().toISOString(),
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        failedStep: null,
        approval: null,
      },
    },
  } as Notification;
  return {
    deliveryId: 'delivery-1',
    attempt: 1,
    inDoubt: overrides.inDoubt ?? false,
    inDoubtSince: null,
    event,
    channel: {
      id: 'c1',
      name: 'github-deployments',
      platform: 'github',
      target: { kind: 'channel', channel: 'acme/shop' },
      secret: null,
    },
    previous: overrides.previous ? { messageId: overrides.previous } : null,
    signal: AbortSignal.timeout(5000),
  };
}

/** The GitHub sender on its own, against the stand-in: the retries and edges the end-to-end test cannot time. */
describe('the GitHub deployment reporter', () => {
  let github: GitHubStandIn;
  let sender: NotificationSender;

  beforeAll(async () => {
    github = await startGitHubStandIn({ token: TOKEN });
    sender = createGitHubNotificationSender({
      token: TOKEN,
      apiUrl: github.url,
      publicUrl: 'https://slipway.test/',
    });
  });
  afterAll(() => github?.close());

  it('after a worker died mid-send, finds the deployment it made instead of making another', async () => {
    const id = '11111111-2222-4333-8444-555555555555';
    const first = await sender.send(notification('deployment.queued', { id }));
    expect(first.message?.messageId).toMatch(new RegExp(`^\\d+@${SHA}$`));
    // The same event again, in doubt, with nothing remembered: the worker died before recording it.
    const again = await sender.send(notification('deployment.queued', { id, inDoubt: true }));
    expect(again.message).toEqual(first.message);
    expect(github.deploymentsOf(id)).toHaveLength(1);
    expect(github.deploymentsOf(id)[0]!.statuses.map((s) => s.state)).toEqual(['queued', 'queued']);
    expect(github.deploymentsOf(id)[0]!.statuses[0]!.log_url).toBe(
      'https://slipway.test/api/v1/projects/shop/deployments/7',
    );
  });

  it('gives a deployment moved to another commit a new GitHub deployment, the old one inactive', async () => {
    const id = '22222222-2222-4333-8444-555555555555';
    const first = await sender.send(notification('approval.requested', { id }));
    const other = 'b'.repeat(40);
    const moved = await sender.send(
      notification('approval.requested', { id, commit: other, previous: first.message!.messageId }),
    );
    const [old, next] = github.deploymentsOf(id);
    expect(old!.statuses.map((s) => s.state)).toEqual(['pending', 'inactive']);
    expect(next).toMatchObject({ sha: other });
    expect(moved.message?.messageId).toBe(`${next!.id}@${other}`);
  });

  it('reports nothing for a rollback (it names no commit) or for events that are not about deployments', async () => {
    const before = github.requests.length;
    expect((await sender.send(notification('deployment.finished', { commit: null }))).message).toBeNull();
    expect(
      (await sender.send({ ...notification('deployment.queued'), event: lockEvent() })).message,
    ).toBeNull();
    expect(github.requests.length).toBe(before);
  });

  it('says a bad token is permanent, and reports nothing without a token', async () => {
    const wrong = createGitHubNotificationSender({
      token: 'ghs_wrong0123456789abcdefghijk',
      apiUrl: github.url,
      publicUrl: 'x',
    });
    await expect(wrong.send(notification('deployment.queued'))).rejects.toMatchObject({
      kind: 'permanent',
      details: { status: 401 },
    });
    const none = createGitHubNotificationSender({ token: undefined, apiUrl: github.url, publicUrl: 'x' });
    expect(none.unavailable({ kind: 'channel', channel: 'acme/shop' })).toMatch(/GITHUB_TOKEN is not set/);
  });
});

function lockEvent(): Notification {
  return {
    id: 'event-2',
    seq: 2,
    type: 'environment.locked',
    occurredAt: new Date().toISOString(),
    projectId: 'p1',
    project: 'shop',
    subject: null,
    data: {
      environment: 'production',
      holder: 'Ada',
      reason: null,
      expiresAt: null,
      actor: 'Ada',
      broken: false,
    },
  };
}
