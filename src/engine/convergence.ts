import { isSlipwayError } from '../errors.js';
import { forEachLimited } from './concurrency.js';
import { lastInfo, type ReleaseState, readReleaseState } from './inspection.js';
import { ObserverQueue } from './observer-queue.js';
import { runPhase } from './phase-execution.js';
import type { ConnectionSettings, PlanServer, ServerInspection } from './plan.js';
import { buildRedactor } from './redaction.js';
import { buildRevertScript, buildSwitchScript } from './release-scripts.js';
import type { TransportFactory } from './server-run.js';
import { actionStep } from './steps.js';
import type { Transport } from './transport/transport.js';

/**
 * What recovery did with a deployment whose process died after activation had begun:
 * - `none`:    no server had been switched; the new release was removed everywhere;
 * - `kept`:    every server was already on the new release; nothing to switch;
 * - `back`:    some servers were switched: they were switched back to the release they ran before,
 *              and the new release removed everywhere;
 * - `forward`: some servers were switched and at least one of them had nothing to go back to (a
 *              first deploy), so the switch was finished on the others instead;
 * - `mixed`:   a server could not be read or switched: it is reported as it is.
 */
export type Convergence = 'none' | 'kept' | 'back' | 'forward' | 'mixed';

export interface ConvergenceReport {
  direction: Convergence;
  servers: ServerInspection[];
}

const silent = new ObserverQueue({ onStepStarted() {}, onStepFinished() {}, onHostKeyLearned() {} });

/** The release just before `release` on this server (names sort by time), or null. */
function releaseBeforeThe(state: ReleaseState, release: string): string | null {
  const older = state.releases.filter((name) => name < release).sort();
  return older.at(-1) ?? null;
}

/**
 * Crash recovery after activation had begun: brings every server of the run to one release.
 * First every server is read (and whatever still runs for the new release is killed); then the
 * switched ones go back to their previous release, or — when one of them has none — the others
 * are switched forward; last, the new release is removed wherever it is not live.
 */
export async function convergeRelease(
  makeTransport: TransportFactory,
  servers: PlanServer[],
  settings: ConnectionSettings,
  release: string,
  onHostKeyLearned?: (serverId: string, fingerprint: string) => void,
): Promise<ConvergenceReport> {
  const redactor = buildRedactor({ secrets: [], privateKey: settings.privateKey });
  const transports = new Map<string, Transport>();
  const states = new Map<string, ReleaseState>();
  const errors = new Map<string, { error: string; errorCode: string }>();
  const failed = (server: PlanServer, error: unknown) =>
    errors.set(server.id, {
      error: isSlipwayError(error) ? error.message : String(error),
      errorCode: isSlipwayError(error) ? error.code : 'internal',
    });
  const transportOf = (server: PlanServer) => {
    let transport = transports.get(server.id);
    if (!transport) {
      transport = makeTransport(server, settings, (fingerprint) =>
        onHostKeyLearned?.(server.id, fingerprint),
      );
      transports.set(server.id, transport);
    }
    return transport;
  };
  const each = (list: PlanServer[], work: (server: PlanServer) => Promise<void>) =>
    forEachLimited(list, settings.concurrency, async (server) => {
      if (errors.has(server.id)) return;
      try {
        await work(server);
      } catch (error) {
        failed(server, error);
      }
    });
  const switchTo = async (server: PlanServer, target: string | null) => {
    const ctx = {
      serverId: server.id,
      serverName: server.name,
      transport: transportOf(server),
      redactor,
      notify: silent,
      stepTimeoutMs: settings.commandTimeoutMs,
    };
    const outcome = target
      ? await runPhase(ctx, buildSwitchScript(server, target, actionStep('revert')))
      : await runPhase(ctx, buildRevertScript(server, release, null, actionStep('revert')));
    if (!outcome.ok) throw new Error(outcome.stopped?.message ?? `could not switch ${server.name}`);
    const state = states.get(server.id);
    if (state) state.currentRelease = lastInfo(outcome.info, 'current');
  };

  try {
    await each(servers, async (server) => {
      states.set(
        server.id,
        await readReleaseState(transportOf(server), server, settings.commandTimeoutMs, release, {
          keepRelease: true,
        }),
      );
    });
    const readable = servers.filter((server) => states.has(server.id));
    const switched = readable.filter((server) => states.get(server.id)!.currentRelease === release);
    const waiting = readable.filter((server) => states.get(server.id)!.currentRelease !== release);
    let direction: Convergence;
    if (switched.length === 0) direction = 'none';
    else if (waiting.length === 0) direction = 'kept';
    else {
      const previous = new Map(
        switched.map((server) => [server.id, releaseBeforeThe(states.get(server.id)!, release)]),
      );
      const canGoBack = [...previous.values()].every((name) => name !== null);
      const canGoForward = waiting.every((server) => states.get(server.id)!.releases.includes(release));
      if (canGoBack || !canGoForward) {
        direction = 'back';
        await each(switched, (server) => switchTo(server, previous.get(server.id) ?? null));
      } else {
        direction = 'forward';
        await each(waiting, (server) => switchTo(server, release));
      }
    }
    // Remove the new release where it is not live (kept where it is), and read the end state.
    await each(readable, async (server) => {
      states.set(
        server.id,
        await readReleaseState(transportOf(server), server, settings.commandTimeoutMs, release),
      );
    });
    if (errors.size) direction = 'mixed';
    return {
      direction,
      servers: servers.map((server) => {
        const state = states.get(server.id);
        const error = errors.get(server.id);
        return {
          serverId: server.id,
          currentRelease: state?.currentRelease ?? null,
          releases: state?.releases ?? [],
          error: error?.error ?? null,
          errorCode: error?.errorCode ?? null,
        };
      }),
    };
  } finally {
    await Promise.all([...transports.values()].map((transport) => transport.close()));
  }
}
