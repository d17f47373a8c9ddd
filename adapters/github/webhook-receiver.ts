import { Webhooks } from '@octokit/webhooks';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../src/logger.js';
import type { DeliveryLedger, RepositoryEvents } from './ports.js';
import { translateEvent } from './webhook-events.js';

/**
 * GitHub lets a delivery be redelivered (by hand, or through the API) for 3 days; Slipway
 * remembers the ids it acted on for a week, so a redelivery in that window changes nothing.
 */
export const DELIVERY_TTL_SECONDS = 7 * 24 * 3600;
/**
 * How long a delivery is held while it is worked on: a process that dies mid-work leaves a key
 * that lapses soon, so a redelivery runs it then; one that finishes keeps it for the full week.
 */
const CLAIM_TTL_SECONDS = 10 * 60;
/** GitHub caps payloads at 25 MB. */
const BODY_LIMIT = 25 * 1024 * 1024;

/**
 * `POST /github/webhook`: GitHub's signed deliveries. The raw body's `X-Hub-Signature-256`
 * (HMAC-SHA256 with the webhook secret) is verified through @octokit/webhooks before anything
 * is parsed: unsigned or badly signed is a 401 and nothing changes. `ping` is answered; `push`,
 * `check_suite`, `check_run` and `status` are translated and handed to the core once per
 * `X-GitHub-Delivery` (a redelivery answers 200 and does nothing); anything else is a 200 and
 * ignored. The answer says what Slipway did — GitHub shows it with the delivery.
 */
export class GitHubWebhookReceiver {
  readonly path = '/github/webhook';
  private readonly webhooks: Webhooks;

  constructor(
    options: { secret: string },
    private readonly ports: { events: RepositoryEvents; deliveries: DeliveryLedger },
    private readonly logger: Logger,
  ) {
    this.webhooks = new Webhooks({ secret: options.secret });
  }

  /** Registers the endpoint; call before the server listens. */
  mount(http: FastifyInstance): void {
    void http.register(async (scope) => {
      // Bodies stay raw bytes here: the signature is over exactly what GitHub sent.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
        done(null, body),
      );
      scope.post(this.path, async (request, reply) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const text = raw.toString('utf8');
        const signature = header(request.headers['x-hub-signature-256']);
        if (!signature || !(await this.verify(text, signature))) {
          this.logger.warn(
            { ip: request.ip, signed: !!signature, event: header(request.headers['x-github-event']) },
            'github webhook refused: bad signature',
          );
          return reply.code(401).send({
            error: 'invalid_signature',
            message: signature
              ? 'X-Hub-Signature-256 does not match: check the webhook secret (GITHUB_WEBHOOK_SECRET).'
              : 'The delivery is not signed: set the webhook secret (GITHUB_WEBHOOK_SECRET) on GitHub.',
          });
        }
        const name = header(request.headers['x-github-event']);
        const delivery = header(request.headers['x-github-delivery']);
        if (!name) return badRequest(reply, 'X-GitHub-Event is missing.');
        let payload: unknown;
        try {
          payload = parsePayload(text, header(request.headers['content-type']) ?? '');
        } catch {
          return badRequest(reply, 'The delivery is not JSON (nor a form with a JSON payload).');
        }
        if (name === 'ping') {
          return reply.send({ ok: true, zen: (payload as { zen?: unknown }).zen ?? null });
        }
        const event = translateEvent(name, payload);
        if (event.kind === 'ignored') return reply.send({ delivery, event: name, ignored: event.reason });
        if (!delivery) return badRequest(reply, 'X-GitHub-Delivery is missing.');
        return this.handle(reply, name, delivery, () =>
          event.kind === 'push'
            ? this.ports.events.push(event.push)
            : this.ports.events.ciResult(event.result),
        );
      });
    });
  }

  private async handle(
    reply: FastifyReply,
    name: string,
    delivery: string,
    work: () => Promise<unknown>,
  ): Promise<FastifyReply> {
    const { deliveries } = this.ports;
    const key = `github:delivery:${delivery}`;
    if (!(await deliveries.claim(key, CLAIM_TTL_SECONDS))) {
      this.logger.info({ delivery, event: name }, 'github delivery seen before: nothing to do');
      return reply.send({ delivery, event: name, duplicate: true });
    }
    try {
      const outcome = await work();
      await deliveries.keep(key, DELIVERY_TTL_SECONDS);
      this.logger.info({ delivery, event: name, outcome }, 'github delivery handled');
      return reply.send({ delivery, event: name, outcome });
    } catch (error) {
      // Not done: forget the id, so that GitHub's redelivery runs it again.
      await deliveries.forget(key).catch(() => undefined);
      this.logger.error({ err: error, delivery, event: name }, 'github delivery failed');
      return reply.code(500).send({
        error: 'internal',
        message:
          'Slipway could not act on this delivery; it has been logged. Redeliver it from the webhook settings.',
      });
    }
  }

  private async verify(body: string, signature: string): Promise<boolean> {
    try {
      return await this.webhooks.verify(body, signature);
    } catch {
      return false; // an empty body, or no signature to compare
    }
  }
}

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: 'bad_request', message });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** GitHub sends `application/json`, or a form with the JSON in `payload` when the hook is set so. */
function parsePayload(text: string, contentType: string): unknown {
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new Error('no payload');
    return JSON.parse(payload);
  }
  return JSON.parse(text);
}
