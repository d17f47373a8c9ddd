import type { ObserverQueue } from './observer-queue.js';
import { type PhaseContext, recordStep } from './phase-execution.js';
import type { ConnectionSettings, PlanServer, RunFailure, ServerRunResult, StepRecord } from './plan.js';
import type { Redactor } from './redaction.js';
import type { PlannedStep } from './steps.js';
import type { Transport } from './transport/transport.js';

export type TransportFactory = (
  server: PlanServer,
  settings: Pick<ConnectionSettings, 'privateKey' | 'connectTimeoutMs'>,
  onHostKeyLearned: (fingerprint: string) => void,
) => Transport;

/** One server's part in a deployment or rollback: its connection, its records, what it ran. */
export interface ServerRun {
  server: PlanServer;
  transport: Transport;
  ctx: PhaseContext;
  /** Every step the run may record for this server, in order (to report those that never ran). */
  planned: PlannedStep[];
  records: StepRecord[];
  previousRelease: string | null;
  currentRelease: string | null;
  /** The prepare script was sent: a release directory may exist and must be removed on failure. */
  touched: boolean;
}

export function createServerRun(
  makeTransport: TransportFactory,
  server: PlanServer,
  settings: ConnectionSettings,
  shared: { redactor: Redactor; notify: ObserverQueue; signal: AbortSignal | undefined },
  planned: PlannedStep[],
): ServerRun {
  const transport = makeTransport(server, settings, (fingerprint) =>
    shared.notify.hostKeyLearned(server.id, fingerprint),
  );
  return {
    server,
    transport,
    ctx: {
      serverId: server.id,
      serverName: server.name,
      transport,
      redactor: shared.redactor,
      notify: shared.notify,
      stepTimeoutMs: settings.commandTimeoutMs,
      signal: shared.signal,
    },
    planned,
    records: [],
    previousRelease: null,
    currentRelease: null,
    touched: false,
  };
}

export function failureOf(run: ServerRun, record: StepRecord): RunFailure {
  return {
    serverId: run.server.id,
    serverName: run.server.name,
    step: record.step,
    exitCode: record.exitCode,
    outputTail: record.outputTail,
    errorCode: record.errorCode ?? 'command_failed',
    message: record.message ?? `${record.step.name} failed on ${run.server.name}.`,
  };
}

/**
 * Report the planned steps that never ran as skipped and build the per-server results. The
 * observer is not waited for: it has had every call, and its writes are its own business.
 */
export function settleRuns(runs: ServerRun[], notify: ObserverQueue): ServerRunResult[] {
  for (const run of runs) {
    const recorded = new Set(run.records.map((record) => record.step.key));
    for (const step of run.planned) {
      if (!recorded.has(step.key)) run.records.push(recordStep(run.ctx, step, 'skipped', null, null));
    }
  }
  notify.phase('done');
  return runs.map((run) => ({
    serverId: run.server.id,
    previousRelease: run.previousRelease,
    currentRelease: run.currentRelease,
    steps: run.records,
  }));
}

export async function closeRuns(runs: ServerRun[]): Promise<void> {
  await Promise.all(runs.map((run) => run.transport.close()));
}
