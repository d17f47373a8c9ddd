/**
 * Load generator for test/bench/ack.ts, run in its own process so it does not share an event
 * loop with the server it measures. Open loop: requests leave on a fixed schedule whatever the
 * answers do, so a slow server shows up as latency, not as a lower rate.
 *
 * Usage: tsx test/bench/ack-load.ts <url> <rate per second> <seconds> <signing secret> <text> <response base URL>
 * Prints one JSON line: { sent, ok, errors, p50, p99, max } (milliseconds).
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { signSlackRequest } from '../../adapters/slack/signature.js';

const [url = '', rateArg = '200', secondsArg = '20', secret = '', text = 'help', responseBase = ''] =
  process.argv.slice(2);
const rate = Number(rateArg);
const total = Math.round(rate * Number(secondsArg));
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const latencies: number[] = [];
let ok = 0;
let errors = 0;
let done = 0;

const RUN = randomBytes(6).toString('hex');

function send(index: number): void {
  const body = new URLSearchParams({
    token: 'x',
    team_id: 'T1',
    team_domain: 'bench',
    channel_id: 'C1',
    channel_name: 'bench',
    user_id: `U${index % 50}`,
    user_name: `user${index % 50}`,
    command: '/slipway',
    text,
    api_app_id: 'A1',
    response_url: `${responseBase || target.origin}/respond/${index}`,
    // Unique across runs, as Slack's are: the same body twice is a replay, and runs nothing.
    trigger_id: `${RUN}.${index}`,
  }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  const started = performance.now();
  const req = request(
    target,
    {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body),
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': signSlackRequest(secret, timestamp, body),
      },
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - started);
        if (res.statusCode === 200) ok++;
        else errors++;
        finish();
      });
    },
  );
  req.on('error', () => {
    errors++;
    finish();
  });
  req.end(body);
}

function finish(): void {
  done++;
  if (done < total) return;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ sent: total, ok, errors, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? 0 })}\n`,
  );
  agent.destroy();
}

const start = performance.now();
let next = 0;
const tick = () => {
  const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
  while (next < due) send(next++);
  if (next < total) setTimeout(tick, 1);
};
tick();
