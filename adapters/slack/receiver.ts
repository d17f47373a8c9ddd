import { createHash } from 'node:crypto';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../src/logger.js';
import { verifySlackSignature } from './signature.js';

type AckResponse = string | Record<string, unknown> | undefined;

/** Slack's deadline for the HTTP answer; we answer well within it. */
const ACK_TIMEOUT_MS = 2_800;

/**
 * How long a request is remembered: past the 5-minute signature window a replay is refused
 * anyway, and Slack's own retries (X-Slack-Retry-Num) come within minutes of the original.
 */
const REPLAY_WINDOW_SECONDS = 10 * 60;

/**
 * A Bolt Receiver fed by a route on Slipway's own fastify server. The raw body is verified
 * (v0 signature, 5-minute window) before anything is parsed; a failure is a 401 and Bolt never
 * sees the request. The HTTP response is whatever the listener passes to `ack()`, sent as soon
 * as it is called; the listener's work after `ack()` continues in the background.
 */
export class FastifyReceiver implements Receiver {
  private app: App | undefined;
  /** Per request body (the object Bolt hands its listeners): whether it is the first time it came. */
  private readonly seen = new WeakMap<object, Promise<boolean>>();

  constructor(
    private readonly options: {
      signingSecret: string;
      path?: string;
      logger: Logger;
      /** True the first time a request is seen, across replicas (the shared inbound ledger). */
      firstTime: (key: string, ttlSeconds: number) => Promise<boolean>;
    },
  ) {}

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
        // Asked now, awaited by the listener after its ack: the ledger's round trip is never part
        // of the time Slack waits for the HTTP answer.
        const first = this.firstTime(raw).then((isFirst) => {
          if (!isFirst) {
            // A replay of signed bytes, or Slack retrying what already ran: acknowledged, not run again.
            this.options.logger.warn(
              { retry: header(request.headers['x-slack-retry-num']) ?? null, ip: request.ip },
              'slack request already handled; not run again',
            );
          }
          return isFirst;
        });
        this.seen.set(body, first);
        const response = await this.dispatch(body, request.headers);
        if (response === 'failed') return reply.code(500).send('');
        if (response === undefined || response === '') return reply.code(200).send('');
        if (typeof response === 'string') return reply.type('text/plain').send(response);
        return reply.type('application/json').send(JSON.stringify(response));
      });
    });
  }

  /**
   * Whether `body` (a listener's `body`) is the first time its request came: a listener acks,
   * then awaits this before any work, so a replay is answered like the original and runs nothing.
   * Answers that change nothing (help, a usage error) are given in the ack either way.
   */
  firstTimeFor(body: object): Promise<boolean> {
    return this.seen.get(body) ?? Promise.resolve(true);
  }

  /**
   * The same request — an attacker's replay of the signed bytes, or Slack's retry, which signs
   * the same body anew — has the same body: its hash is the key. Two real requests never share a
   * body (each carries its own trigger_id and response_url). When the ledger cannot be reached,
   * the request runs: losing a command is worse than the rare replay during an outage.
   */
  private async firstTime(raw: Buffer): Promise<boolean> {
    const key = `slack:${createHash('sha256').update(raw).digest('base64url')}`;
    try {
      return await this.options.firstTime(key, REPLAY_WINDOW_SECONDS);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not check for a replayed Slack request; running it');
      return true;
    }
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
