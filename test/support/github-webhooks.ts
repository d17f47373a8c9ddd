import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { EmitterWebhookEvent } from '@octokit/webhooks';

/** The example payloads the tests send, typed as @octokit/webhooks types them. */
interface Payloads {
  push: EmitterWebhookEvent<'push'>['payload'];
  ping: EmitterWebhookEvent<'ping'>['payload'];
  check_suite: EmitterWebhookEvent<'check_suite'>['payload'];
  check_run: EmitterWebhookEvent<'check_run'>['payload'];
  status: EmitterWebhookEvent<'status'>['payload'];
  issues: EmitterWebhookEvent<'issues'>['payload'];
}
type EventName = keyof Payloads;
export type GitHubPayload<N extends EventName> = Payloads[N];

// The community's real GitHub payloads (@octokit/webhooks-examples; its main is a JSON file).
const EXAMPLES = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
  name: string;
  examples: unknown[];
}[];

/** A copy of a real example payload of `name` (the first that `pick` accepts), to adjust and send. */
export function githubExample<N extends EventName>(
  name: N,
  pick: (example: GitHubPayload<N>) => boolean = () => true,
): GitHubPayload<N> {
  const definition = EXAMPLES.find((candidate) => candidate.name === name);
  const found = (definition?.examples as GitHubPayload<N>[] | undefined)?.find(pick);
  if (!found) throw new Error(`no ${name} example matches`);
  return structuredClone(found);
}

/** GitHub's X-Hub-Signature-256: HMAC-SHA256 of the raw body with the webhook secret. */
export function signGitHubBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface Delivered<T = Record<string, unknown>> {
  status: number;
  body: T;
  delivery: string;
}

/**
 * Posts a delivery the way GitHub does: JSON body, `X-GitHub-Event`, `X-GitHub-Delivery` and the
 * signature (`signature: null` sends none; a string sends that one instead).
 */
export async function deliverToSlipway<T = Record<string, unknown>>(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
  options: { delivery?: string; signature?: string | null; body?: string } = {},
): Promise<Delivered<T>> {
  const body = options.body ?? JSON.stringify(payload);
  const delivery = options.delivery ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/test',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-github-hook-id': '123',
  };
  const signature = options.signature === undefined ? signGitHubBody(secret, body) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  const response = await fetch(`${url}/github/webhook`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, delivery };
}
