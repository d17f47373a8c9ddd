/**
 * The Bot Connector stand-in of test/bench/ack-teams.ts, in a process of its own (the real one is
 * remote): answering Slipway's replies must not take time on Slipway's event loop. Started with an
 * IPC channel; answers `{ type: 'address' }` with its serviceUrl and `{ type: 'counts' }` with the
 * number of requests per kind.
 */
import { startBotConnector } from '../support/teams-fake.js';

const connector = await startBotConnector();
const totals: Record<string, number> = {};
process.on('message', (message: { type: string }) => {
  if (message.type === 'address') process.send?.({ serviceUrl: connector.serviceUrl });
  if (message.type === 'counts') {
    // Keep memory flat over long runs: only the counts are ever asked for.
    for (const r of connector.requests.splice(0)) totals[r.kind] = (totals[r.kind] ?? 0) + 1;
    process.send?.({ ...totals });
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
