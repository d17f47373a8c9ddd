import type { Redactor } from './redaction.js';

/** Recorded output limits: the tail shown in chat and step rows, and the full output kept per step. */
export const OUTPUT_TAIL_CHARS = 4 * 1024;
export const OUTPUT_CAP_CHARS = 256 * 1024;

/**
 * Collects a step's output in bounded memory: the first and the last half of the cap, and how
 * much was dropped in between (an `npm ci` can print megabytes; the start says what ran, the end
 * says why it failed). Redaction happens when the text is read, on each kept part separately;
 * the characters next to a cut are dropped too, so a secret cut in half cannot leak its halves.
 */
export class BoundedOutput {
  private head = '';
  private tail = '';
  private dropped = 0;
  private readonly half: number;

  constructor(cap = OUTPUT_CAP_CHARS) {
    this.half = Math.max(1, Math.floor(cap / 2));
  }

  append(text: string): void {
    if (this.head.length < this.half) {
      const room = this.half - this.head.length;
      this.head += text.slice(0, room);
      text = text.slice(room);
    }
    if (text.length === 0) return;
    this.tail += text;
    // Trim in batches so appending stays linear.
    if (this.tail.length > this.half * 2) {
      const excess = this.tail.length - this.half;
      this.dropped += excess;
      this.tail = this.tail.slice(excess);
    }
  }

  render(redactor: Redactor): { output: string; outputTail: string } {
    let output: string;
    const tailOverflow = Math.max(0, this.tail.length - this.half);
    const dropped = this.dropped + tailOverflow;
    if (dropped === 0) {
      output = redactor.redact(this.head + this.tail);
    } else {
      const margin = redactor.longest;
      const redactedHead = redactor.redact(this.head);
      const head = redactedHead.slice(0, Math.max(0, redactedHead.length - margin));
      const tail = redactor.redact(this.tail.slice(tailOverflow)).slice(margin);
      output = `${head}\n[… ${dropped + 2 * margin} characters omitted …]\n${tail}`;
    }
    return { output, outputTail: output.slice(-OUTPUT_TAIL_CHARS) };
  }
}
