import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../adapters/webhook/signature.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: string;
  body: Record<string, unknown>;
  /** performance.now() when the request was complete. */
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: unknown } | 'hold';

/** Answers per request, in order, before the platform's normal answer (e.g. three 500s, then OK). */
export type Script = (request: ReceivedRequest) => Answer | undefined;

/**
 * A local HTTP server standing in for a chat platform or a webhook receiver: records every
 * request (raw body included, for signature checks), answers like the platform, and can be told
 * to fail, rate-limit or hold requests open (a worker killed mid-request).
 */
export async function startReceiver(platform: (request: ReceivedRequest) => Answer) {
  const requests: ReceivedRequest[] = [];
  const held: ServerResponse[] = [];
  let scripts: Script[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(incoming.url ?? '/', 'http://localhost');
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        body = { raw };
      }
      const request: ReceivedRequest = {
        method: incoming.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: incoming.headers,
        raw,
        body,
        at: performance.now(),
      };
      requests.push(request);
      let answer: Answer | undefined;
      for (const script of scripts) {
        answer = script(request);
        if (answer) break;
      }
      answer ??= platform(request);
      for (const wake of waiters) wake();
      if (answer === 'hold') {
        held.push(response);
        return;
      }
      response.writeHead(answer.status, {
        'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json',
        ...answer.headers,
      });
      response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {}));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    /** Adds a script consulted before the platform's answer; returns a function removing it. */
    script(script: Script) {
      scripts.push(script);
      return () => {
        scripts = scripts.filter((s) => s !== script);
      };
    },
    clearScripts() {
      scripts = [];
    },
    /** The first `n` matching requests get `answer`; later ones the platform's answer. */
    failNext(n: number, answer: Answer, match: (r: ReceivedRequest) => boolean = () => true) {
      let left = n;
      return this.script((request) => {
        if (left <= 0 || !match(request)) return undefined;
        left--;
        return answer;
      });
    },
    async waitFor(
      match: (r: ReceivedRequest) => boolean,
      count = 1,
      timeoutMs = 30_000,
    ): Promise<ReceivedRequest[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = requests.filter(match);
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `expected ${count} matching request(s), got ${found.length}; all: ${requests.map((r) => `${r.method} ${r.path}`).join(', ')}`,
          );
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
    },
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/**
 * Slack's Web API: chat.postMessage (answers a ts, keeps the message with its metadata),
 * chat.update, conversations.history (with metadata, as `include_all_metadata` returns it) and
 * auth.test (Bolt asks it). Bad tokens get `invalid_auth`, as Slack answers.
 */
export async function startSlackApi(token: string) {
  let ts = 1_800_000_000;
  const messages: { channel: string; ts: string; body: Record<string, unknown> }[] = [];
  const handle = (request: ReceivedRequest): Answer => {
    const ok = (extra: Record<string, unknown>) => ({ status: 200, body: { ok: true, ...extra } });
    if (request.path === '/api/auth.test') return ok({ user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1' });
    if (request.headers.authorization !== `Bearer ${token}`)
      return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    const channel = String(request.body.channel ?? '');
    if (request.path === '/api/chat.postMessage') {
      if (channel === 'CGONE') return { status: 200, body: { ok: false, error: 'channel_not_found' } };
      ts += 1;
      const message = { channel, ts: `${ts}.000200`, body: request.body };
      messages.push(message);
      return ok({ channel, ts: message.ts });
    }
    if (request.path === '/api/chat.update') {
      const found = messages.find((m) => m.ts === request.body.ts && m.channel === channel);
      if (!found) return { status: 200, body: { ok: false, error: 'message_not_found' } };
      found.body = { ...found.body, ...request.body };
      return ok({ channel, ts: found.ts });
    }
    if (request.path === '/api/conversations.history') {
      const oldest = Number(request.body.oldest ?? 0);
      return ok({
        messages: messages
          .filter((m) => m.channel === channel && Number(m.ts) >= oldest)
          .reverse()
          .map((m) => ({ type: 'message', ts: m.ts, text: m.body.text, metadata: m.body.metadata })),
      });
    }
    return { status: 200, body: { ok: false, error: 'unknown_method' } };
  };
  const receiver = await startReceiver(handle);
  /** Posts the message (as Slack would), then never answers: the sender cannot know it worked. */
  const processThenHold = (request: ReceivedRequest): Answer => {
    handle(request);
    return 'hold';
  };
  return { ...receiver, apiUrl: `${receiver.url}/api/`, messages, processThenHold };
}

/**
 * Discord: webhook execute (`POST /api/webhooks/:id/:token?wait=true` → the message) and edit
 * (`PATCH …/messages/:id`); bot channel messages (`POST /api/v10/channels/:id/messages`, with the
 * enforced nonce deduplicated the way Discord does) and their edits.
 */
export async function startDiscordApi(botToken: string) {
  let id = 1_200_000_000_000_000_000n;
  const messages = new Map<string, { channel: string; body: Record<string, unknown>; nonce?: string }>();
  const receiver = await startReceiver((request) => {
    const webhook = /^\/api\/webhooks\/(\d+)\/([\w-]+)(?:\/messages\/(\d+))?$/.exec(request.path);
    const channelPath = /^\/api\/v10\/channels\/(\d+)\/messages(?:\/(\d+))?$/.exec(request.path);
    if (channelPath && request.headers.authorization !== `Bot ${botToken}`) {
      return { status: 401, body: { message: '401: Unauthorized', code: 0 } };
    }
    const channel = webhook ? `webhook-${webhook[1]}` : (channelPath?.[1] ?? '');
    const messageId = webhook?.[3] ?? channelPath?.[2];
    if ((webhook || channelPath) && request.method === 'POST' && !messageId) {
      const nonce = typeof request.body.nonce === 'string' ? request.body.nonce : undefined;
      if (nonce && request.body.enforce_nonce) {
        for (const [existing, m] of messages) {
          if (m.nonce === nonce && m.channel === channel)
            return { status: 200, body: { id: existing, channel_id: channel } };
        }
      }
      id += 1n;
      messages.set(String(id), { channel, body: request.body, ...(nonce ? { nonce } : {}) });
      // Without ?wait=true a webhook answers 204 with no message.
      if (webhook && request.query.get('wait') !== 'true') return { status: 204, body: '' };
      return { status: 200, body: { id: String(id), channel_id: channel, embeds: request.body.embeds } };
    }
    if ((webhook || channelPath) && request.method === 'PATCH' && messageId) {
      const found = messages.get(messageId);
      if (!found || found.channel !== channel)
        return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
      found.body = { ...found.body, ...request.body };
      return { status: 200, body: { id: messageId, channel_id: channel } };
    }
    return { status: 404, body: { message: '404: Not Found', code: 0 } };
  });
  return {
    ...receiver,
    apiUrl: `${receiver.url}/api/v10`,
    webhookUrl: (hookId = '111111111111111111') => `${receiver.url}/api/webhooks/${hookId}/tok-en_${hookId}`,
    messages,
  };
}

/** A Teams incoming webhook: takes an Adaptive Card attachment and answers `1`, like a connector. */
export async function startTeamsWebhook() {
  const receiver = await startReceiver((request) => {
    const attachment = (request.body.attachments as { contentType?: string }[] | undefined)?.[0];
    if (
      request.body.type !== 'message' ||
      attachment?.contentType !== 'application/vnd.microsoft.card.adaptive'
    ) {
      return { status: 400, body: 'Bad payload' };
    }
    return { status: 200, body: '1' };
  });
  return { ...receiver, webhookUrl: `${receiver.url}/webhookb2/abc@def/IncomingWebhook/123/456` };
}

/**
 * A generic webhook receiver written the way Slipway's README tells receivers to work: verify
 * the signature over the raw body first (401 otherwise), then process each delivery id once.
 */
export async function startWebhookReceiver(secret: string) {
  const processed = new Map<string, ReceivedRequest>();
  const duplicates: ReceivedRequest[] = [];
  const rejected: ReceivedRequest[] = [];
  const handle = (request: ReceivedRequest): Answer => {
    if (
      !verifyWebhookSignature(
        secret,
        request.raw,
        request.headers['x-slipway-signature'] as string | undefined,
      )
    ) {
      rejected.push(request);
      return { status: 401, body: 'bad signature' };
    }
    const id = String(request.headers['x-slipway-delivery'] ?? '');
    if (processed.has(id)) duplicates.push(request);
    else processed.set(id, request);
    return { status: 200, body: 'ok' };
  };
  const receiver = await startReceiver(handle);
  /** Processes the request, then never answers: the sender cannot know it arrived. */
  const processThenHold = (request: ReceivedRequest): Answer => {
    handle(request);
    return 'hold';
  };
  return {
    ...receiver,
    hookUrl: `${receiver.url}/hooks/slipway`,
    processed,
    duplicates,
    rejected,
    processThenHold,
  };
}
