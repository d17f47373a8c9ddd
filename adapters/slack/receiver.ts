import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../src/logger.js';
import { verifySlackSignature } from './signature.js';

type AckResponse = string | Record<string, unknown> | undefined;

/** Slack's deadline for the HTTP answer; we answer well within it. */
const ACK_TIMEOUT_MS = 2_800;

/**
 * A Bolt Receiver fed by a route on Slipway's own fastify server. The raw body is verified
 * (v0 signature, 5-minute window) before anything is parsed; a failure is a 401 and Bolt never
 * sees the request. The HTTP response is whatever the listener passes to `ack()`, sent as soon
 * as it is called; the listener's work after `ack()` continues in the background.
 */
export class FastifyReceiver implements Receiver {
  private app: App | undefined;

  constructor(private readonly options: { signingSecret: string; path?: string; logger: Logger }) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Registers the endpoint; call before the server listens. */
  register(http: FastifyInstance): void {
    const path = this.options.path ?? '/slack/events';
    void http.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) =>
        done(null, body),
      );
      scope.post(path, async (request, reply) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const check = verifySlackSignature(
          this.options.signingSecret,
          {
            signature: header(request.headers['x-slack-signature']),
            timestamp: header(request.headers['x-slack-request-timestamp']),
          },
          raw,
        );
        if (!check.ok) {
          this.options.logger.warn({ reason: check.reason, ip: request.ip }, 'slack request refused');
          return reply.code(401).send({ error: 'invalid_signature', message: 'Invalid Slack signature.' });
        }
        let body: Record<string, unknown>;
        try {
          body = parseBody(raw, header(request.headers['content-type']) ?? '');
        } catch {
          return reply.code(400).send({ error: 'bad_request', message: 'Unreadable Slack payload.' });
        }
        if (body.ssl_check) return reply.code(200).send('');
        if (body.type === 'url_verification') return reply.send({ challenge: body.challenge });
        const response = await this.dispatch(body, request.headers);
        if (response === 'failed') return reply.code(500).send('');
        if (response === undefined || response === '') return reply.code(200).send('');
        if (typeof response === 'string') return reply.type('text/plain').send(response);
        return reply.type('application/json').send(JSON.stringify(response));
      });
    });
  }

  private dispatch(
    body: Record<string, unknown>,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<AckResponse | 'failed'> {
    const app = this.app;
    if (!app) return Promise.resolve('failed');
    return new Promise((resolve) => {
      let acked = false;
      const timer = setTimeout(() => {
        if (!acked) {
          acked = true;
          this.options.logger.warn({ type: body.type }, 'slack listener did not ack in time');
          resolve(undefined);
        }
      }, ACK_TIMEOUT_MS);
      const event: ReceiverEvent = {
        body,
        ack: async (response?: AckResponse) => {
          if (acked) return;
          acked = true;
          clearTimeout(timer);
          resolve(response);
        },
      };
      const retryNum = header(headers['x-slack-retry-num']);
      if (retryNum) event.retryNum = Number(retryNum);
      const retryReason = header(headers['x-slack-retry-reason']);
      if (retryReason) event.retryReason = retryReason;
      app.processEvent(event).then(
        () => {
          // Nothing acked (an event nobody listens to): Slack still wants a 200.
          if (!acked) {
            acked = true;
            clearTimeout(timer);
            resolve(undefined);
          }
        },
        (error: unknown) => {
          this.options.logger.error({ err: error }, 'slack listener failed');
          if (!acked) {
            acked = true;
            clearTimeout(timer);
            resolve('failed');
          }
        },
      );
    });
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Slash commands and interactions are form-encoded (interactions as a JSON `payload`); events are JSON. */
export function parseBody(raw: Buffer, contentType: string): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (contentType.includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  const form = new URLSearchParams(text);
  const payload = form.get('payload');
  if (payload !== null) return JSON.parse(payload) as Record<string, unknown>;
  return Object.fromEntries(form.entries());
}
