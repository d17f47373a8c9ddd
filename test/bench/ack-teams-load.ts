/**
 * Load generator for test/bench/ack-teams.ts, in its own process (it must not share an event loop
 * with the server it measures). Open loop: activities leave on a fixed schedule whatever the
 * answers do. Each is a personal-chat message as Teams sends it, with its own id, from one of 50
 * users, carrying the Bot Framework JWT given in BENCH_TEAMS_TOKEN.
 *
 * Usage: tsx test/bench/ack-teams-load.ts <url> <rate per second> <seconds> <serviceUrl> <tenant> <bot id> <text> <id prefix>
 * Prints one JSON line: { sent, ok, errors, p50, p99, max } (milliseconds).
 */
import { Agent, request } from 'node:http';

const [
  url = '',
  rateArg = '200',
  secondsArg = '20',
  serviceUrl = '',
  tenant = '',
  botId = '',
  text = 'help',
  prefix = 'a',
] = process.argv.slice(2);
const token = process.env.BENCH_TEAMS_TOKEN ?? '';
const rate = Number(rateArg);
const total = Math.round(rate * Number(secondsArg));
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const latencies: number[] = [];
let ok = 0;
let errors = 0;
let done = 0;

function send(index: number): void {
  const user = index % 50;
  const body = JSON.stringify({
    text,
    textFormat: 'plain',
    type: 'message',
    timestamp: new Date().toISOString(),
    id: `${prefix}-${index}`,
    channelId: 'msteams',
    serviceUrl,
    from: {
      id: `29:1bench-user-${user}`,
      name: `user${user}`,
      aadObjectId: `00000000-0000-4000-b000-${String(user).padStart(12, '0')}`,
    },
    conversation: { conversationType: 'personal', tenantId: tenant, id: `a:1bench-${user}` },
    recipient: { id: botId, name: 'Slipway' },
    entities: [
      { locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Berlin', type: 'clientInfo' },
    ],
    channelData: { tenant: { id: tenant } },
    locale: 'en-US',
  });
  const started = performance.now();
  const req = request(
    target,
    {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${token}`,
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
