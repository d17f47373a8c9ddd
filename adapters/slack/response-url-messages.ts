import type { RespondFn } from '@slack/bolt';
import type { ReplyStatus } from '../../src/chat/index.js';

/** Slack accepts five messages on a response_url, within 30 minutes of the request. */
const USES = 5;
const LIFETIME_MS = 30 * 60_000;
const ENDED: ReadonlySet<ReplyStatus | undefined> = new Set(['success', 'error', 'warning']);

type Body = Record<string, unknown>;

interface Entry {
  respond: RespondFn;
  uses: number;
  status: ReplyStatus | undefined;
  createdAt: number;
}

/**
 * Cards shown through a request's response_url, because the bot could not post where it was
 * asked. They are kept up to date the same way, within Slack's budget: a new message only when
 * the state changes (queued → running → finished), and the last use kept for the end, so the
 * outcome always arrives. The URL is a capability that lives 30 minutes: kept in memory only.
 */
export class ResponseUrlMessages {
  private readonly entries = new Map<string, Entry>();

  async first(id: string, respond: RespondFn, body: Body, status: ReplyStatus | undefined): Promise<void> {
    this.prune();
    this.entries.set(id, { respond, uses: 1, status, createdAt: Date.now() });
    await respond({ response_type: 'in_channel', replace_original: false, ...body });
  }

  async update(id: string, body: Body, status: ReplyStatus | undefined): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    const ended = ENDED.has(status);
    if (status === entry.status && !ended) return;
    if (!ended && entry.uses >= USES - 1) return;
    if (entry.uses >= USES) return;
    entry.uses++;
    entry.status = status;
    if (ended) this.entries.delete(id);
    await entry.respond({ response_type: 'in_channel', replace_original: true, ...body });
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) if (now - entry.createdAt > LIFETIME_MS) this.entries.delete(id);
  }
}
