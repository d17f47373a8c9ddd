/**
 * Load generator for test/bench/heartbeats.ts, run in its own process so that neither the
 * service nor the benchmark's own database work shares its event loop. Open loop: check-ins leave
 * on a fixed schedule (in ticks of 5 ms) whatever the answers do, so a slow service shows up as
 * latency, not as a lower rate. A check-in is `POST /heartbeats/<token>` with no body, over
 * keep-alive HTTP/1.1 connections to 127.0.0.1, one request at a time on each (no pipelining: a
 * connection is taken from the idle ones, or opened, when a check-in is due), as a pool of `curl`
 * keep-alive clients would send them; past MAX_CONNECTIONS busy ones, a check-in waits for one.
 * Requests and responses are bytes on a socket rather than node:http objects: at 10,000 a second
 * the generator's own work (and its garbage collections) would otherwise be a large part of what
 * is measured, on a machine it shares with the service.
 *
 * Usage: tsx test/bench/check-in-load.ts <port> <rate per second> <warm-up seconds> <seconds> <tokens file> [new]
 * (the tokens file: a JSON array of heartbeat tokens, used in turn). With `new`, every check-in
 * opens a connection of its own and asks for it to be closed, as a crontab's plain `curl` does.
 * A latency is timed from the moment the check-in is handed to a connection (or, with all of them
 * busy, queued for one) to the moment its whole response has been read. Prints one JSON line:
 * CheckInLoadResult.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export interface CheckInLoadResult {
  sent: number;
  answered: number;
  failed: number;
  /** Seconds from the first check-in sent to the last one answered (the warm-up excluded). */
  elapsed: number;
  p50: number;
  p99: number;
  max: number;
  /** The slowest answer to what was sent in the warm-up's first second. */
  firstSecondMax: number;
  /** CPU this generator used during the measured seconds (user + system), in milliseconds. */
  cpuMs: number;
  /** Slowest 100 ms windows (by the time a check-in was sent): start (ms since the epoch), count, max. */
  slowWindows: { at: number; count: number; p50: number; max: number }[];
}

const TICK_MS = 5;
const MAX_CONNECTIONS = 1024;
const TIMEOUT_MS = 10_000;

interface Pending {
  sentAt: number;
  measured: boolean;
}

/** One keep-alive connection with at most one request in flight. */
class Connection {
  private buffer = '';
  private inFlight: Pending | null = null;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly onAnswer: (connection: Connection, pending: Pending, status: number) => void,
    private readonly onLost: (connection: Connection, pending: Pending | null) => void,
  ) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.read(chunk));
    const lost = () => {
      if (this.closed) return;
      this.closed = true;
      const pending = this.inFlight;
      this.inFlight = null;
      this.onLost(this, pending);
    };
    socket.on('error', lost);
    socket.on('close', lost);
  }

  send(request: Buffer, pending: Pending): void {
    this.inFlight = pending;
    this.socket.write(request);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const headEnd = this.buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.buffer.slice(0, headEnd);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) {
        // Every server measured here sends a length; anything else is not an answer we can count.
        this.socket.destroy(new Error(`response without content-length: ${head.slice(0, 80)}`));
        return;
      }
      const end = headEnd + 4 + Number(length[1]);
      if (this.buffer.length < end) return;
      this.buffer = this.buffer.slice(end);
      const pending = this.inFlight;
      this.inFlight = null;
      if (pending) this.onAnswer(this, pending, Number(head.slice(9, 12)));
    }
  }
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

async function main(): Promise<void> {
  const [portArg = '', rateArg = '10000', warmUpArg = '5', secondsArg = '30', tokensFile = '', mode = ''] =
    process.argv.slice(2);
  const newConnections = mode === 'new';
  const port = Number(portArg);
  const rate = Number(rateArg);
  const warmUpMs = Number(warmUpArg) * 1000;
  const measuredMs = Number(secondsArg) * 1000;
  const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as string[];
  const requests = tokens.map((token) =>
    Buffer.from(
      `POST /heartbeats/${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\n` +
        `${newConnections ? 'Connection: close\r\n' : ''}\r\n`,
      'latin1',
    ),
  );

  const capacity = Math.ceil((rate * measuredMs) / 1000) + rate;
  const latencies = new Float64Array(capacity);
  const sentAtOf = new Float64Array(capacity);
  let answered = 0;
  let failed = 0;
  let sent = 0;
  /** Measured check-ins not yet answered. */
  let outstanding = 0;
  let next = 0;
  let firstSecondMax = 0;
  let lastAnswerAt = 0;

  const idle: Connection[] = [];
  let open = 0;
  const queued: { request: Buffer; pending: Pending }[] = [];

  const started = performance.now();
  const measuredFrom = started + warmUpMs;

  const onAnswer = (connection: Connection, pending: Pending, status: number) => {
    const now = performance.now();
    const latency = now - pending.sentAt;
    if (pending.measured) {
      if (status === 200 && answered < capacity) {
        latencies[answered] = latency;
        sentAtOf[answered] = pending.sentAt;
        answered++;
      } else failed++;
      lastAnswerAt = now;
      outstanding--;
    } else if (pending.sentAt - started < 1000) firstSecondMax = Math.max(firstSecondMax, latency);
    const waiting = queued.shift();
    if (newConnections) {
      connection.close();
      if (waiting) dispatch(waiting.request, waiting.pending);
    } else if (waiting) connection.send(waiting.request, waiting.pending);
    else idle.push(connection);
  };
  const onLost = (connection: Connection, pending: Pending | null) => {
    open--;
    const at = idle.indexOf(connection);
    if (at >= 0) idle.splice(at, 1);
    if (pending?.measured) {
      failed++;
      outstanding--;
    }
    const waiting = queued.shift();
    if (waiting) dispatch(waiting.request, waiting.pending);
  };
  const dispatch = (request: Buffer, pending: Pending) => {
    // Idle connections are all open: a lost one leaves the list as it closes (onLost).
    const connection = newConnections ? undefined : idle.pop();
    if (connection) return connection.send(request, pending);
    if (open >= MAX_CONNECTIONS) return void queued.push({ request, pending });
    open++;
    // Written at once: the socket holds it until it connects, and the wait is part of the latency.
    new Connection(connect({ host: '127.0.0.1', port }), onAnswer, onLost).send(request, pending);
  };

  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const deadline = measuredFrom + measuredMs;
  let cpuFrom: NodeJS.CpuUsage | undefined;
  for (let tick = 0; ; tick++) {
    const at = started + tick * TICK_MS;
    if (at >= deadline) break;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const measured = at >= measuredFrom;
    if (measured && !cpuFrom) cpuFrom = process.cpuUsage();
    for (let i = 0; i < perTick; i++) {
      const request = requests[next++ % requests.length]!;
      if (measured) {
        sent++;
        outstanding++;
      }
      dispatch(request, { sentAt: performance.now(), measured });
    }
  }
  const waitUntil = performance.now() + TIMEOUT_MS;
  while (outstanding > 0 && performance.now() < waitUntil) await new Promise((r) => setTimeout(r, 10));
  failed += outstanding; // not answered within TIMEOUT_MS of the last one sent
  const cpu = process.cpuUsage(cpuFrom);

  const sorted = latencies.slice(0, answered).sort();
  const windows = new Map<number, number[]>();
  for (let i = 0; i < answered; i++) {
    const key = Math.floor((performance.timeOrigin + sentAtOf[i]!) / 100);
    const list = windows.get(key);
    if (list) list.push(latencies[i]!);
    else windows.set(key, [latencies[i]!]);
  }
  const slowWindows = [...windows]
    .map(([key, values]) => {
      const window = Float64Array.from(values).sort();
      return {
        at: key * 100,
        count: window.length,
        p50: percentile(window, 50),
        max: window[window.length - 1]!,
      };
    })
    .filter((window) => window.max > 50)
    .sort((a, b) => a.at - b.at);
  const result: CheckInLoadResult = {
    sent,
    answered,
    failed,
    elapsed: ((lastAnswerAt || performance.now()) - measuredFrom) / 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
    firstSecondMax,
    cpuMs: (cpu.user + cpu.system) / 1000,
    slowWindows,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const connection of idle) connection.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
