import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebConsoleAdapter } from '../../adapters/web/console.js';
import { verifyWebhookSignature } from '../../adapters/webhook/signature.js';
import { notificationReply } from '../../src/chat/index.js';
import { startChatSlipway } from '../support/chat-stack.js';
import { type ConsoleUser, consoleUser, replyText } from '../support/console-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

type Step = {
  id: string;
  type: string;
  status: string;
  detail: string | null;
  deployment: { number: number } | null;
};
type Execution = {
  id: string;
  run_nr: number;
  status: string;
  failure_reason: string | null;
  waiting_for: { phase: string; role: string | null } | null;
  phases: { name: string; status: string; steps: Step[] }[];
};

/**
 * Escape's pipelines over the REST API and in chat, with the `local` transport: a run deploys
 * one commit stage by stage, stops at a confirmation (not its starter's to give), runs a smoke
 * command on the stage's servers and a signed webhook; runs page with page_size and page_from.
 */
describe('pipelines', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let root: string;
  let ann: string;
  let dev: string;
  let carol: string;
  let viewer: string;
  let devChat: ConsoleUser;
  let carolChat: ConsoleUser;
  let secret: string;
  const hooks: { body: string; headers: IncomingMessage['headers'] }[] = [];
  const hookStatus = 204;
  const receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      hooks.push({ body, headers: request.headers });
      response.writeHead(hookStatus).end();
    });
  });
  let hookUrl: string;

  const definition = (smoke: string) => ({
    stages: [
      { environment: 'staging' },
      {
        environment: 'production',
        steps: [
          { confirmation: { role: 'approver' } },
          { 'run-smoke': { command: smoke } },
          { 'webhook-trigger': { url: hookUrl } },
        ],
      },
    ],
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/after-prod?token=t0k3n`;
    root = await api.rootToken();
    await api.project(
      root,
      'shop',
      [
        { name: 'staging', tier: 'staging', servers: ['s1'] },
        { name: 'production', tier: 'production', servers: ['p1'] },
      ],
      ['s1', 'p1'],
    );
    ann = await api.token('ann', 'all', [{ project: 'shop', role: 'admin' }]);
    dev = await api.token('dev', ['deployments:create'], [{ project: 'shop', role: 'deployer' }]);
    carol = await api.token('carol', ['deployments:create'], [{ project: 'shop', role: 'approver' }]);
    viewer = await api.token('vic', ['deployments:create'], [{ project: 'shop', role: 'viewer' }]);
    const web = api.slipway.adapters.find((a) => a.platform === 'web') as WebConsoleAdapter;
    const consoleService = { url: api.stack.url, signIn: api.slipway.services.consoleSignIn };
    devChat = await consoleUser(consoleService, 'dev', web);
    carolChat = await consoleUser(consoleService, 'carol', web);
  });
  afterAll(async () => {
    receiver.close();
    await api?.stop();
    await database?.drop();
  });

  const run = (id: string, token = dev) =>
    api.call<Execution>('GET', `/api/v1/projects/shop/pipelines/release/executions/${id}`, { token });
  const until = async (id: string, done: (e: Execution) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const shown = await run(id);
      if (done(shown.body)) return shown.body;
      if (Date.now() > deadline) throw new Error(`run still ${JSON.stringify(shown.body, null, 1)}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  };
  const start = async (body: Record<string, unknown> = {}) => {
    const started = await api.call<Execution>('POST', '/api/v1/projects/shop/pipelines/release/executions', {
      token: dev,
      body,
    });
    expect(started.status, started.text).toBe(201);
    return started.body;
  };
  const decide = (id: string, decision: 'confirm' | 'reject', token: string) =>
    api.call<Execution & { message?: string }>(
      'POST',
      `/api/v1/projects/shop/pipelines/release/executions/${id}/${decision}`,
      { token },
    );
  const atConfirmation = (e: Execution) => e.status === 'pending' && e.waiting_for?.phase === 'production';
  const ended = (e: Execution) => e.status === 'ok' || e.status === 'failed';

  it('defines a pipeline as the issue writes it; smoke commands on the Slipway host are a global admin’s', async () => {
    const refused = await api.call('PUT', '/api/v1/projects/shop/pipelines/release', {
      token: ann,
      body: definition('cat VERSION'),
    });
    expect(refused.status, refused.text).toBe(403);
    const bad = await api.call<{ errors: Record<string, string[]> }>(
      'PUT',
      '/api/v1/projects/shop/pipelines/release',
      {
        token: root,
        body: {
          stages: [
            {
              environment: 'staging',
              steps: [{ confirmation: { role: 'approver', users: ['web:local:x'] } }],
            },
          ],
        },
      },
    );
    expect(bad.status).toBe(422);
    const unknown = await api.call('PUT', '/api/v1/projects/shop/pipelines/release', {
      token: root,
      body: { stages: [{ environment: 'qa' }] },
    });
    expect(unknown.status).toBe(422);

    const created = await api.call<{
      signing_secret: string;
      stages: { environment: string; steps: Record<string, unknown>[] }[];
    }>('PUT', '/api/v1/projects/shop/pipelines/release', { token: root, body: definition('cat VERSION') });
    expect(created.status, created.text).toBe(201);
    secret = created.body.signing_secret;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The stage deploys after its leading confirmation, before its smoke test.
    expect(created.body.stages.map((s) => s.steps.map((step) => Object.keys(step)[0]))).toEqual([
      ['deploy'],
      ['confirmation', 'deploy', 'run-smoke', 'webhook-trigger'],
    ]);
    const view = await api.call<{
      pipeline: { name: string };
      stages: { stage: string; steps: { type: string }[] }[];
    }>('GET', '/api/v1/projects/shop/pipeline', { token: dev });
    expect(view.body.pipeline.name).toBe('release');
    expect(view.body.stages.map((s) => s.stage)).toEqual(['staging', 'production']);
  });

  it('runs through a confirmation: the starter and a viewer are refused, an approver confirms; smoke and signed webhook pass', async () => {
    const started = await start({ branch: 'main' });
    expect(started.run_nr).toBe(1);
    const waiting = await until(started.id, atConfirmation);
    expect(waiting.phases.map((p) => p.status)).toEqual(['ok', 'pending']);
    expect(waiting.phases[0]!.steps[0]).toMatchObject({ type: 'deploy', status: 'ok' });
    expect(waiting.phases[1]!.steps.map((s) => s.status)).toEqual(['pending', 'new', 'new', 'new']);

    // Channels hear of it too: the outbox holds a pipeline.waiting card with Confirm and Reject.
    const [event] = await database.query<{ data: unknown }>(
      `select data from notification_events where type = 'pipeline.waiting' and subject = $1`,
      [`pipeline-execution:${started.id}`],
    );
    const card = notificationReply({ type: 'pipeline.waiting', data: event!.data } as never);
    expect(card.buttons?.map((b) => [b.label, b.actionId, b.value])).toEqual([
      ['Confirm', 'pipeline', `confirm ${started.id}`],
      ['Reject', 'pipeline', `reject ${started.id}`],
    ]);

    const self = await decide(started.id, 'confirm', dev);
    expect(self.status).toBe(403);
    expect(self.body.message).toMatch(/You started this run/);
    const notApprover = await decide(started.id, 'confirm', viewer);
    expect(notApprover.status).toBe(403);
    expect(notApprover.body.message).toMatch(/approver role/);
    expect((await run(started.id)).body.status).toBe('pending');

    const confirmed = await decide(started.id, 'confirm', carol);
    expect(confirmed.status, confirmed.text).toBe(200);
    const done = await until(started.id, ended);
    expect(done.status, done.failure_reason ?? '').toBe('ok');
    expect(done.phases.map((p) => p.status)).toEqual(['ok', 'ok']);
    const [, deploy, smoke, webhook] = done.phases[1]!.steps;
    expect(deploy!.deployment).not.toBeNull();
    expect(smoke!.detail).toBe('p1: exit 0.');
    expect(webhook!.detail).toMatch(/^HTTP 204 from 127\.0\.0\.1:\d+\.$/);
    expect(await readFile(join(api.folder, 'shop', 'p1', 'current', 'VERSION'), 'utf8')).toBe('2\n');

    expect(hooks).toHaveLength(1);
    const [hook] = hooks;
    expect(verifyWebhookSignature(secret, hook!.body, hook!.headers['x-slipway-signature'] as string)).toBe(
      true,
    );
    expect(hook!.headers['x-slipway-delivery']).toBe(webhook!.id);
    expect(JSON.parse(hook!.body)).toMatchObject({
      project: 'shop',
      pipeline: 'release',
      execution: { id: started.id, run_nr: 1, commit: api.repo.commits[1] },
      phase: { name: 'production' },
    });
    if (process.env.PRINT_EXECUTION)
      process.stdout.write(`\n--- execution ---\n${JSON.stringify(done, null, 2)}\n---\n`);
  });

  it('one run at a time (400 while one is under way), and a rejection ends the run', async () => {
    const started = await start();
    await until(started.id, atConfirmation);
    const second = await api.call('POST', '/api/v1/projects/shop/pipelines/release/executions', {
      token: dev,
      body: {},
    });
    expect(second.status).toBe(400);
    expect(String(second.body.message)).toMatch(/release is still running: run #2/);

    const rejected = await decide(started.id, 'reject', carol);
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.body.status).toBe('failed');
    expect(rejected.body.failure_reason).toBe('Rejected by carol (token carol-token) at production.');
    expect(rejected.body.phases[1]!.steps.map((s) => s.status)).toEqual([
      'failed',
      'skipped',
      'skipped',
      'skipped',
    ]);
    const late = await decide(started.id, 'confirm', carol);
    expect(late.status).toBe(409);
    expect(late.body.message).toMatch(/has ended/);
    expect(hooks).toHaveLength(1);
  });

  it('fails the run on a smoke command that exits non-zero, with its output', async () => {
    const replaced = await api.call('PUT', '/api/v1/projects/shop/pipelines/release', {
      token: root,
      body: definition('echo "health check: broken" >&2; exit 3'),
    });
    expect(replaced.status, replaced.text).toBe(200);
    const started = await start();
    await until(started.id, atConfirmation);
    expect((await decide(started.id, 'confirm', carol)).status).toBe(200);
    const done = await until(started.id, ended);
    expect(done.status).toBe('failed');
    const smoke = done.phases[1]!.steps[2]!;
    expect(smoke).toMatchObject({ type: 'run-smoke', status: 'failed' });
    expect(smoke.detail).toContain('p1: exit 3.');
    expect(smoke.detail).toContain('health check: broken');
    expect(done.failure_reason).toContain('run-smoke at production: p1: exit 3.');
    expect(done.phases[1]!.steps[3]!.status).toBe('skipped');
    expect(hooks).toHaveLength(1);
  });

  it('pages runs newest first with page_size and page_from', async () => {
    const first = await api.call<{ executions: Execution[]; next_page_from: number | null }>(
      'GET',
      '/api/v1/projects/shop/pipelines/release/executions?page_size=2',
      { token: viewer },
    );
    expect(first.status).toBe(200);
    expect(first.body.executions.map((e) => e.run_nr)).toEqual([3, 2]);
    expect(first.body.next_page_from).toBe(2);
    const second = await api.call<{ executions: Execution[]; next_page_from: number | null }>(
      'GET',
      `/api/v1/projects/shop/pipelines/release/executions?page_size=2&page_from=${first.body.next_page_from}`,
      { token: viewer },
    );
    expect(second.body.executions.map((e) => e.run_nr)).toEqual([1]);
    expect(second.body.next_page_from).toBeNull();
    expect((await run('2', viewer)).body.run_nr).toBe(2);
    for (const query of ['page_size=0', 'page_size=101', 'page_from=abc']) {
      const bad = await api.call('GET', `/api/v1/projects/shop/pipelines/release/executions?${query}`, {
        token: viewer,
      });
      expect(bad.status, query).toBe(422);
    }
  });

  it('walks the pipeline from chat: /promote shop, the buttons confirm (not the starter), the card follows', async () => {
    await api.call('PUT', '/api/v1/projects/shop/pipelines/release', {
      token: root,
      body: definition('cat VERSION'),
    });
    const answer = await devChat.type('promote shop');
    expect(answer.reply.title).toBe('Pipeline release #4 · shop');
    const id = answer.reply.footer!.replace('pipeline run ', '');
    await until(id, atConfirmation);
    const card = await devChat.waitFor(
      (m) => m.id === answer.id && (m.reply.buttons ?? []).some((b) => b.label === 'Confirm'),
    );
    expect(card.reply.text).toBe(
      'Waiting at production for a confirmation by anyone with the approver role (not dev, who started it).',
    );
    const confirm = card.reply.buttons!.find((b) => b.label === 'Confirm')!;
    const own = await devChat.click(card.id, confirm.actionId, confirm.value);
    expect(own.visibleTo).toBe(devChat.identity);
    expect(own.reply.text).toMatch(/You started this run/);

    await carolChat.click(card.id, confirm.actionId, confirm.value);
    const finished = await devChat.waitFor((m) => m.id === answer.id && m.reply.status === 'success');
    const text = replyText(finished.reply);
    expect(text).toContain('Finished:');
    expect(text).toContain('confirmed by carol');
    expect(finished.reply.buttons ?? []).toEqual([]);

    const status = replyText((await devChat.type('status shop')).reply);
    expect(status).toContain(
      'Pipeline *release*: staging (deploy) → production (confirmation, deploy, run-smoke, webhook-trigger) · last run #4 ok',
    );
  });

  it('is pending while a stage deployment awaits approval; a rejected deployment fails the run', async () => {
    const gated = await api.call('PUT', '/api/v1/projects/shop/environments/production', {
      token: root,
      body: { approvals_required: 1 },
    });
    expect(gated.status, gated.text).toBe(200);
    try {
      const defined = await api.call('PUT', '/api/v1/projects/shop/pipelines/with-approval', {
        token: root,
        body: { stages: [{ environment: 'staging' }, { environment: 'production' }] },
      });
      expect(defined.status, defined.text).toBe(201);
      const path = '/api/v1/projects/shop/pipelines/with-approval/executions';
      const started = await api.call<Execution>('POST', path, { token: dev, body: {} });
      expect(started.status, started.text).toBe(201);
      const show = async () =>
        (await api.call<Execution>('GET', `${path}/${started.body.id}`, { token: dev })).body;
      const deadline = Date.now() + 60_000;
      let shown = await show();
      // The step and then the run become pending (two writes): wait for both.
      while (
        (shown.phases[1]?.steps[0]?.status !== 'pending' || shown.status !== 'pending') &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        shown = await show();
      }
      expect(shown.status).toBe('pending');
      expect(shown.waiting_for).toBeNull();
      const deployment = shown.phases[1]!.steps[0]!.deployment!;
      const rejected = await api.call(
        'POST',
        `/api/v1/projects/shop/deployments/${deployment.number}/reject`,
        {
          token: carol,
        },
      );
      expect(rejected.status, rejected.text).toBe(200);
      // No process waits for the deployment: the sweep notices it ended and moves the run on.
      while (shown.status === 'pending' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        shown = await show();
      }
      expect(shown.status).toBe('failed');
      expect(shown.failure_reason).toBe(`deploy at production: deployment #${deployment.number} rejected.`);
    } finally {
      await api.call('PUT', '/api/v1/projects/shop/environments/production', {
        token: root,
        body: { approvals_required: 0 },
      });
    }
  });

  it('survives a restart: a run waiting at a confirmation is rows, and another process takes it on', async () => {
    const started = await start();
    await until(started.id, atConfirmation);
    const key = api.slipway.config.SLIPWAY_SECRET_KEY!;
    await api.stack.stop();
    const next = await startChatSlipway(database, {
      SLIPWAY_ADMINS: 'web:local:root',
      SLIPWAY_SECRET_KEY: key,
    });
    try {
      const call = async (method: string, path: string) => {
        const response = await fetch(
          `${next.url}/api/v1/projects/shop/pipelines/release/executions/${path}`,
          {
            method,
            headers: { authorization: `Bearer ${carol}` },
          },
        );
        return { status: response.status, body: (await response.json()) as Execution };
      };
      expect((await call('GET', started.id)).body.status).toBe('pending');
      expect((await call('POST', `${started.id}/confirm`)).status).toBe(200);
      const deadline = Date.now() + 60_000;
      let shown = await call('GET', started.id);
      while (shown.body.status !== 'ok' && shown.body.status !== 'failed' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        shown = await call('GET', started.id);
      }
      expect(shown.body.status, shown.body.failure_reason ?? '').toBe('ok');
      expect(hooks.at(-1)?.headers['x-slipway-delivery']).toBe(shown.body.phases[1]!.steps[3]!.id);
    } finally {
      await next.stop();
    }
  });
});
