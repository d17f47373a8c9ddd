/**
 * The Slack stand-in of test/bench/ack.ts, in a process of its own: real Slack runs elsewhere,
 * so answering Slipway's chat.postMessage calls must not take time on Slipway's event loop.
 * Started with an IPC channel; prints nothing, answers `{ type: 'counts' }` with the number of
 * requests per path, and `{ type: 'address' }` with its URLs.
 */
import { startSlackFake } from '../support/slack-fake.js';

const slack = await startSlackFake();
process.on('message', (message: { type: string }) => {
  if (message.type === 'address') process.send?.({ url: slack.url, apiUrl: slack.apiUrl });
  if (message.type === 'counts') {
    const paths: Record<string, number> = {};
    for (const r of slack.requests) {
      const key = r.path.startsWith('/respond/') ? '/respond/*' : r.path;
      paths[key] = (paths[key] ?? 0) + 1;
    }
    // Keep memory flat over long runs: only the counts are ever asked for.
    slack.clear();
    for (const [path, count] of Object.entries(paths)) totals[path] = (totals[path] ?? 0) + count;
    process.send?.({ ...totals });
  }
});
const totals: Record<string, number> = {};
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
