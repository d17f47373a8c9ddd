/**
 * Load generator for test/bench/ack-discord.ts, in its own process (like ack-load.ts for Slack):
 * signed Discord interactions — APPLICATION_COMMAND `/slipway text:<text>`, real format — on a
 * fixed schedule (open loop), from 50 people of one server, each with its own interaction id
 * and token.
 *
 * Usage: tsx test/bench/ack-discord-load.ts <url> <rate per second> <seconds> <private key, base64 PKCS#8> <application id> <text>
 * Prints one JSON line: { sent, ok, errors, deferred, p50, p99, max } (milliseconds).
 */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { Agent, request } from 'node:http';

const [url = '', rateArg = '200', secondsArg = '20', keyArg = '', applicationId = '', text = 'help'] =
  process.argv.slice(2);
const rate = Number(rateArg);
const total = Math.round(rate * Number(secondsArg));
const target = new URL(url);
const key = createPrivateKey({ key: Buffer.from(keyArg, 'base64'), format: 'der', type: 'pkcs8' });
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const latencies: number[] = [];
const run = randomBytes(3).readUIntBE(0, 3);
let ok = 0;
let errors = 0;
let deferred = 0;
let done = 0;

function interaction(index: number): string {
  const user = `11600000000000${String(index % 50).padStart(5, '0')}`;
  return JSON.stringify({
    app_permissions: '2248473465835073',
    application_id: applicationId,
    authorizing_integration_owners: { '0': '1170000000000000001' },
    channel: { id: '1170000000000000002', type: 0, name: 'bench', guild_id: '1170000000000000001' },
    channel_id: '1170000000000000002',
    context: 0,
    data: {
      guild_id: '1170000000000000001',
      id: '1180000000000000100',
      name: 'slipway',
      options: [{ name: 'text', type: 3, value: text }],
      type: 1,
    },
    entitlements: [],
    guild: { features: [], id: '1170000000000000001', locale: 'en-US' },
    guild_id: '1170000000000000001',
    guild_locale: 'en-US',
    id: `13${String(run).padStart(8, '0')}${String(index).padStart(8, '0')}`,
    locale: 'en-US',
    member: {
      deaf: false,
      flags: 0,
      joined_at: '2026-01-10T12:00:00.000000+00:00',
      mute: false,
      nick: null,
      pending: false,
      permissions: '2248473465835073',
      roles: [],
      user: { id: user, username: `user${index % 50}`, global_name: null, discriminator: '0', avatar: null },
    },
    token: `aW50ZXJhY3Rpb246${randomBytes(64).toString('base64url')}`,
    type: 2,
    version: 1,
  });
}

function send(index: number): void {
  const body = interaction(index);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(timestamp + body), key).toString('hex');
  const started = performance.now();
  const req = request(
    target,
    {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-signature-ed25519': signature,
        'x-signature-timestamp': timestamp,
      },
    },
    (res) => {
      let answer = '';
      res.on('data', (chunk) => {
        answer += chunk;
      });
      res.on('end', () => {
        latencies.push(performance.now() - started);
        if (res.statusCode === 200) ok++;
        else errors++;
        if (answer === '{"type":5}') deferred++;
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
    `${JSON.stringify({ sent: total, ok, errors, deferred, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? 0 })}\n`,
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
