import { isSlipwayError, SlipwayError } from '../errors.js';
import { forEachLimited } from './concurrency.js';
import type { ConnectionSettings, PlanServer, ServerInspection } from './plan.js';
import { buildInspectScript } from './release-scripts.js';
import type { TransportFactory } from './server-run.js';
import { MarkerStreamParser } from './step-markers.js';
import type { Transport } from './transport/transport.js';

export interface ReleaseState {
  currentRelease: string | null;
  /** Oldest first (names sort by their timestamp). */
  releases: string[];
}

/**
 * Read where `current` points and which releases exist, in one round trip; with
 * `discardRelease`, first remove that release where it is not live.
 */
export async function readReleaseState(
  transport: Transport,
  server: PlanServer,
  timeoutMs: number,
  discardRelease?: string,
  options: { keepRelease?: boolean } = {},
): Promise<ReleaseState> {
  const remote = buildInspectScript(server, discardRelease, options);
  const info = new Map<string, string[]>();
  let text = '';
  const parser = new MarkerStreamParser(remote.nonce, {
    onText: (chunk) => {
      text += chunk;
    },
    onMarker: (event) => {
      if (event.kind === 'info') info.set(event.key, [...(info.get(event.key) ?? []), event.value]);
    },
  });
  const result = await transport.exec(remote.script, { timeoutMs, onOutput: (chunk) => parser.push(chunk) });
  parser.end();
  if (result.exitCode !== 0) {
    throw new SlipwayError(
      'command_failed',
      `Could not read the releases on ${server.name} (exit ${result.exitCode}): ${text.trim().slice(-500)}`,
    );
  }
  return { currentRelease: lastInfo(info, 'current'), releases: info.get('release') ?? [] };
}

/** The last value reported for `key`, or null when absent or empty. */
export function lastInfo(info: Map<string, string[]>, key: string): string | null {
  const values = info.get(key);
  const last = values?.[values.length - 1];
  return last ? last : null;
}

/** The release just before `current` in time order: what a plain rollback switches to. */
export function releaseBefore(state: ReleaseState): string | null {
  if (state.currentRelease === null) return null;
  const sorted = [...state.releases].sort();
  const index = sorted.indexOf(state.currentRelease);
  return index > 0 ? sorted[index - 1]! : null;
}

/**
 * Read every server's release state (at most `concurrency` at once), each on its own short
 * connection. A server that cannot be read gets `error` and `errorCode` instead of failing the lot.
 */
export async function inspectServers(
  makeTransport: TransportFactory,
  servers: PlanServer[],
  settings: ConnectionSettings,
  onHostKeyLearned: ((serverId: string, fingerprint: string) => void) | undefined,
  discardRelease?: string,
): Promise<ServerInspection[]> {
  const results: ServerInspection[] = servers.map((server) => ({
    serverId: server.id,
    currentRelease: null,
    releases: [],
    error: null,
    errorCode: null,
  }));
  await forEachLimited(
    servers.map((server, index) => ({ server, index })),
    settings.concurrency,
    async ({ server, index }) => {
      const transport = makeTransport(server, settings, (fingerprint) =>
        onHostKeyLearned?.(server.id, fingerprint),
      );
      try {
        const state = await readReleaseState(transport, server, settings.commandTimeoutMs, discardRelease);
        results[index] = { ...results[index]!, ...state };
      } catch (error) {
        results[index] = {
          ...results[index]!,
          error: isSlipwayError(error) ? error.message : String(error),
          errorCode: isSlipwayError(error) ? error.code : 'internal',
        };
      } finally {
        await transport.close();
      }
    },
  );
  return results;
}
