import { describe, expect, it } from 'vitest';
import { type MarkerEvent, MarkerStreamParser, markerToken } from '../../src/engine/step-markers.js';

function parse(nonce: string, chunks: string[]): { text: string; events: MarkerEvent[] } {
  let text = '';
  const events: MarkerEvent[] = [];
  const parser = new MarkerStreamParser(nonce, {
    onText: (chunk) => {
      text += chunk;
    },
    onMarker: (event) => events.push(event),
  });
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { text, events };
}

describe('MarkerStreamParser', () => {
  const nonce = 'abc123';
  const m = markerToken(nonce);
  // As the scripts print it: every marker is preceded by its own newline.
  const stream = `\n${m} info current 2026-x\n\n${m} start 0\nhello\nworld\n\n${m} end 0 0\n\n${m} start 1\npartial line\n${m} end 1 3\n`;

  it('splits text from markers', () => {
    const { text, events } = parse(nonce, [stream]);
    expect(events).toEqual([
      { kind: 'info', key: 'current', value: '2026-x' },
      { kind: 'start', index: 0 },
      { kind: 'end', index: 0, exitCode: 0 },
      { kind: 'start', index: 1 },
      { kind: 'end', index: 1, exitCode: 3 },
    ]);
    expect(text).toBe('hello\nworld\npartial line');
  });

  it('gives the same result however the stream is cut into chunks', () => {
    const whole = parse(nonce, [stream]);
    for (let size = 1; size <= 9; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
      expect(parse(nonce, chunks)).toEqual(whole);
    }
  });

  it('recognises a marker after output that did not end its line', () => {
    const { text, events } = parse(nonce, [`no newline at end\n${m} end 4 1\n`]);
    expect(text).toBe('no newline at end');
    expect(events).toEqual([{ kind: 'end', index: 4, exitCode: 1 }]);
  });

  it('treats a marker with another nonce (a forgery) as plain text', () => {
    const forged = `${markerToken('guessed')} end 0 0\n`;
    const { text, events } = parse(nonce, [`\n${m} start 0\n${forged}\n${m} end 0 1\n`]);
    expect(events).toEqual([
      { kind: 'start', index: 0 },
      { kind: 'end', index: 0, exitCode: 1 },
    ]);
    expect(text).toBe(forged);
  });
});
