import { randomBytes } from 'node:crypto';

/**
 * A phase script reports its progress in-band, on the same output stream as its commands:
 *
 *   \n::slipway-<nonce> start <step index>\n
 *   \n::slipway-<nonce> end <step index> <exit code>\n
 *   \n::slipway-<nonce> info <key> <value>\n
 *
 * so one round trip per phase still yields a record per step. The nonce is random per run and
 * lives only in the parent shell (never exported, never in argv), so a hook's output cannot
 * forge a marker. The leading newline guarantees a marker starts a line even when a step's
 * output did not end with one; the parser consumes it as part of the marker.
 */

export type MarkerEvent =
  | { kind: 'start'; index: number }
  | { kind: 'end'; index: number; exitCode: number }
  | { kind: 'info'; key: string; value: string };

export function newNonce(): string {
  return randomBytes(12).toString('hex');
}

export function markerToken(nonce: string): string {
  return `::slipway-${nonce}`;
}

function parseMarker(body: string): MarkerEvent | null {
  const start = /^start (\d+)$/.exec(body);
  if (start) return { kind: 'start', index: Number(start[1]) };
  const end = /^end (\d+) (\d+)$/.exec(body);
  if (end) return { kind: 'end', index: Number(end[1]), exitCode: Number(end[2]) };
  const info = /^info (\S+) ?(.*)$/.exec(body);
  if (info) return { kind: 'info', key: info[1]!, value: info[2] ?? '' };
  return null;
}

export interface MarkerHandlers {
  onText(text: string): void;
  onMarker(event: MarkerEvent): void;
}

/** Splits a script's streamed output into plain text and marker events, across chunk boundaries. */
export class MarkerStreamParser {
  private readonly token: string;
  // A virtual newline, so a marker that is the very first output is still recognised.
  private buffer = '\n';
  private started = false;

  constructor(
    nonce: string,
    private readonly handlers: MarkerHandlers,
  ) {
    this.token = `\n${markerToken(nonce)} `;
  }

  push(chunk: string): void {
    this.buffer += chunk;
    this.drain();
  }

  /** Flush what is left as text (a truncated marker at the very end is shown as text). */
  end(): void {
    this.emitText(this.buffer);
    this.buffer = '';
  }

  private drain(): void {
    for (;;) {
      const at = this.buffer.indexOf(this.token);
      if (at === -1) {
        // Hold back what could be the start of a token split across chunks.
        const safe = this.buffer.length - (this.token.length - 1);
        if (safe > 0) {
          this.emitText(this.buffer.slice(0, safe));
          this.buffer = this.buffer.slice(safe);
        }
        return;
      }
      const lineEnd = this.buffer.indexOf('\n', at + this.token.length);
      this.emitText(this.buffer.slice(0, at));
      if (lineEnd === -1) {
        this.buffer = this.buffer.slice(at);
        return;
      }
      const event = parseMarker(this.buffer.slice(at + this.token.length, lineEnd));
      if (event) this.handlers.onMarker(event);
      this.buffer = this.buffer.slice(lineEnd + 1);
    }
  }

  private emitText(text: string): void {
    // Drop the virtual newline we started with.
    if (!this.started) {
      this.started = true;
      text = text.slice(1);
    }
    if (text.length > 0) this.handlers.onText(text);
  }
}
