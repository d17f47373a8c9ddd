/**
 * The Discord stand-in of test/bench/ack-discord.ts, in a process of its own (real Discord runs
 * elsewhere, so answering Slipway's edits must not take time on Slipway's event loop). It takes
 * any interaction token as a deferred response (the interactions come from the load process).
 * Started with an IPC channel; answers `{ type: 'address' }` with its API URL and bot token, and
 * `{ type: 'counts' }` with the number of requests per method and route kind.
 */
import { startDiscordFake } from '../support/discord-fake.js';

const discord = await startDiscordFake({ lenient: true });
const totals: Record<string, number> = {};
process.on('message', (message: { type: string }) => {
  if (message.type === 'address') {
    process.send?.({
      apiUrl: discord.apiUrl,
      botToken: discord.botToken,
      applicationId: discord.applicationId,
    });
  }
  if (message.type === 'counts') {
    for (const r of discord.requests) {
      const kind = r.path.startsWith('/webhooks/')
        ? `${r.method} /webhooks/*${r.path.endsWith('/@original') ? '/@original' : ''}`
        : `${r.method} ${r.path}`;
      const key = `${kind} ${r.status}`;
      totals[key] = (totals[key] ?? 0) + 1;
    }
    // Keep memory flat over long runs: only the counts are ever asked for.
    discord.clear();
    process.send?.({ ...totals });
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
