import { createHmac } from 'node:crypto';

/** A `fetch`-compatible function: every outbound request of a webhook-trigger step goes through the one handed in. */
export type OutboundFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export const SIGNATURE_HEADER = 'x-slipway-signature';

/** `sha256=<hex>`: HMAC-SHA256 of the raw body with the pipeline's signing secret (GitHub's scheme, as channel webhooks). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookOutcome {
  ok: boolean;
  /** For people: `HTTP 204 from ci.example.com`, or why it could not be sent. */
  detail: string;
}

/**
 * POSTs the step's JSON body, signed, to its URL. The delivery id (the step's) is sent as
 * `X-Slipway-Delivery` and `Idempotency-Key`: a retry after a crash repeats it, and a receiver
 * that dedupes on it acts once. Redirects are not followed; any 2xx counts.
 */
export async function triggerWebhook(
  fetchFn: OutboundFetch,
  input: { url: string; secret: string; deliveryId: string; body: unknown; timeoutMs: number },
): Promise<WebhookOutcome> {
  const body = JSON.stringify(input.body);
  const host = URL.parse(input.url)?.host ?? 'the URL';
  try {
    const response = await fetchFn(input.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(input.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Slipway',
        [SIGNATURE_HEADER]: signBody(input.secret, body),
        'x-slipway-event': 'pipeline.webhook-trigger',
        'x-slipway-delivery': input.deliveryId,
        'idempotency-key': input.deliveryId,
      },
      body,
    });
    const text = (await response.text().catch(() => '')).slice(0, 300);
    return response.status >= 200 && response.status < 300
      ? { ok: true, detail: `HTTP ${response.status} from ${host}.` }
      : { ok: false, detail: `HTTP ${response.status} from ${host}${text ? `: ${text}` : ''}.` };
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${input.timeoutMs} ms`
        : (error as Error).message;
    return { ok: false, detail: `Could not reach ${host}: ${reason}.` };
  }
}
