import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { signSlackRequest } from '../../adapters/slack/signature.js';

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** For chat.postMessage: the ts we answered with (the message's id). */
  ts?: string;
}

/**
 * A local stand-in for Slack: answers the Web API (`/api/<method>`) and response URLs
 * (`/respond/<id>`) the way Slack does, and records every request for assertions. With
 * `socketModeUrl`, apps.connections.open hands out that WebSocket URL (Socket Mode).
 */
export async function startSlackFake(
  options: {
    socketModeUrl?: string;
    /** auth.test answers `ok: false` with this error (a revoked or wrong token: `invalid_auth`). */
    authError?: string;
    /** chat.postMessage to these channels answers `ok: false` with the error (`not_in_channel`). */
    refuseChannels?: Record<string, string>;
  } = {},
) {
  const requests: RecordedRequest[] = [];
  let ts = 1_700_000_000;
  const waiters: (() => void)[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const type = request.headers['content-type'] ?? '';
      let body: Record<string, unknown> = {};
      if (type.includes('json')) body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      else {
        body = Object.fromEntries(new URLSearchParams(text).entries());
        for (const key of ['blocks', 'attachments']) {
          if (typeof body[key] === 'string') body[key] = JSON.parse(body[key] as string);
        }
      }
      const path = (request.url ?? '').split('?')[0] ?? '';
      const recorded: RecordedRequest = { path, headers: request.headers, body };
      response.setHeader('content-type', 'application/json');
      const refused = path === '/api/chat.postMessage' && options.refuseChannels?.[String(body.channel)];
      if (path === '/api/auth.test') {
        response.end(
          JSON.stringify(
            options.authError
              ? { ok: false, error: options.authError }
              : { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1', user: 'slipway' },
          ),
        );
      } else if (refused) {
        response.end(JSON.stringify({ ok: false, error: refused }));
      } else if (path === '/api/chat.postMessage') {
        ts += 1;
        recorded.ts = `${ts}.000100`;
        response.end(JSON.stringify({ ok: true, channel: body.channel, ts: recorded.ts, message: {} }));
      } else if (path === '/api/chat.update') {
        response.end(JSON.stringify({ ok: true, channel: body.channel, ts: body.ts }));
      } else if (path === '/api/apps.connections.open' && options.socketModeUrl) {
        response.end(JSON.stringify({ ok: true, url: options.socketModeUrl }));
      } else if (path.startsWith('/respond/')) {
        response.end(JSON.stringify({ ok: true }));
      } else {
        response.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
      }
      requests.push(recorded);
      for (const wake of waiters.splice(0)) wake();
    });
  });
  // Idle keep-alive sockets stay open (as Slack's do for minutes): a client reusing one that we
  // had closed would see a reset and retry with back-off, which the benchmark would count.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    apiUrl: `${url}/api/`,
    requests,
    clear: () => requests.splice(0),
    /** Waits until a recorded request satisfies `match`. */
    async waitFor(match: (r: RecordedRequest) => boolean, timeoutMs = 30_000): Promise<RecordedRequest> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = requests.find(match);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no matching Slack request; got ${requests.map((r) => r.path).join(', ')}`);
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SlackFake = Awaited<ReturnType<typeof startSlackFake>>;

/** All text in a Web API / response_url body: the fallback text and every block's text. */
export function messageText(body: Record<string, unknown>): string {
  return JSON.stringify([body.text, body.blocks]);
}

/**
 * A Web API that is unreachable the worst way: it accepts connections and never answers (a
 * dead proxy, a black-holed route). Every socket is held open until `close`.
 */
export async function startUnansweringServer() {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    apiUrl: `${url}/api/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A slash command body in the format Slack posts (application/x-www-form-urlencoded). */
export function slashCommandBody(input: {
  command: string;
  text: string;
  userId: string;
  userName: string;
  responseUrl: string;
  teamId?: string;
  channelId?: string;
  triggerId?: string;
}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: input.teamId ?? 'T1',
    team_domain: 'acme',
    channel_id: input.channelId ?? 'C1',
    channel_name: 'deploys',
    user_id: input.userId,
    user_name: input.userName,
    command: input.command,
    text: input.text,
    api_app_id: 'A1',
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? '13345224609.738474920.8088930838d88f008e0',
  }).toString();
}

/** A block_actions payload for a button click, as Slack posts it (form field `payload`). */
export function blockActionsBody(input: {
  actionId: string;
  value: string;
  userId: string;
  userName: string;
  channelId?: string;
  messageTs: string;
  responseUrl: string;
}): string {
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, username: input.userName, name: input.userName, team_id: 'T1' },
    api_app_id: 'A1',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: input.messageTs,
      channel_id: input.channelId ?? 'C1',
      is_ephemeral: false,
    },
    trigger_id: '12466734323.1395872398.46b19c1e3c4d3b3b3c3a3f7b3b3e3b3b',
    team: { id: 'T1', domain: 'acme' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId ?? 'C1', name: 'deploys' },
    message: { type: 'message', ts: input.messageTs, text: 'card', user: 'UBOT', bot_id: 'BBOT', blocks: [] },
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        action_id: input.actionId,
        block_id: 'b1',
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value: input.value,
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** POSTs a signed request to `/slack/events`, as Slack does. */
export async function postSigned(
  baseUrl: string,
  secret: string,
  body: string,
  options: { timestamp?: number; signature?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': timestamp,
    ...options.headers,
  };
  const signature =
    options.signature === undefined ? signSlackRequest(secret, timestamp, body) : options.signature;
  if (signature !== null) headers['x-slack-signature'] = signature;
  return fetch(`${baseUrl}/slack/events`, { method: 'POST', headers, body });
}
