import { isSlipwayError, SlipwayError, type SlipwayErrorCode } from '../errors.js';
import { BoundedOutput } from './bounded-output.js';
import type { ObserverQueue } from './observer-queue.js';
import type { StepRecord } from './plan.js';
import type { Redactor } from './redaction.js';
import type { RemoteScript } from './release-scripts.js';
import { type MarkerEvent, MarkerStreamParser } from './step-markers.js';
import { actionStep, type PlannedStep, toStepInfo } from './steps.js';
import type { Transport } from './transport/transport.js';

export interface PhaseContext {
  serverId: string;
  serverName: string;
  transport: Transport;
  redactor: Redactor;
  notify: ObserverQueue;
  /** Longest a step may run (measured from its start marker, or from the script's start). */
  stepTimeoutMs: number;
  /** Aborting stops the phase; the reason (a SlipwayError) says why. Absent after activation. */
  signal?: AbortSignal;
}

export interface PhaseOutcome {
  ok: boolean;
  /** The steps that ran (or were charged with the failure), in order. */
  records: StepRecord[];
  /** The step that failed or was stopped, if any. */
  stopped: StepRecord | null;
  /** `info` markers: key → values in order. */
  info: Map<string, string[]>;
  /** The gate was closed: the script was never sent, and nothing was recorded. */
  notRun?: boolean;
}

interface OpenStep {
  index: number;
  startedAt: Date;
  output: BoundedOutput;
}

class StepTimeout extends Error {}

function describeStop(reason: unknown): string {
  return isSlipwayError(reason) ? reason.message : 'The run was stopped.';
}

/**
 * Run one phase script on one server and turn its markers into step records: each start marker
 * opens a step (observer notified at once), each end marker closes it with its exit code, and
 * its output is redacted and capped. A watchdog reset by every marker enforces the step timeout.
 * Whatever ends the script early (a failing step, a timeout, a cancel, a lost connection) is
 * charged to the step that was running, or to the first step that never started.
 */
export async function runPhase(
  ctx: PhaseContext,
  remote: RemoteScript,
  gate?: Promise<unknown>,
): Promise<PhaseOutcome> {
  const records: StepRecord[] = [];
  const info = new Map<string, string[]>();
  const loose = new BoundedOutput();
  // Mutated from the parser's callbacks; an object so the compiler does not narrow it away.
  const state: { open: OpenStep | null; lastIndex: number } = { open: null, lastIndex: -1 };

  const finish = (
    step: PlannedStep,
    startedAt: Date | null,
    output: BoundedOutput,
    status: StepRecord['status'],
    exitCode: number | null,
    message: string | null,
    errorCode: SlipwayErrorCode | null,
  ): StepRecord => {
    const rendered = output.render(ctx.redactor);
    const record: StepRecord = {
      step: toStepInfo(step),
      status,
      exitCode,
      ...rendered,
      startedAt,
      finishedAt: new Date(),
      message: message === null ? null : ctx.redactor.redact(message),
      errorCode,
    };
    records.push(record);
    ctx.notify.stepFinished(ctx.serverId, record.step, stripStep(record));
    return record;
  };

  const watchdog = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  const resetWatchdog = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => watchdog.abort(new StepTimeout()), ctx.stepTimeoutMs);
  };

  const onMarker = (event: MarkerEvent) => {
    resetWatchdog();
    if (event.kind === 'info') {
      info.set(event.key, [...(info.get(event.key) ?? []), event.value]);
      return;
    }
    const step = remote.steps[event.index];
    if (!step) return;
    const open = state.open;
    if (event.kind === 'start') {
      state.open = { index: event.index, startedAt: new Date(), output: new BoundedOutput() };
      state.lastIndex = event.index;
      ctx.notify.stepStarted(ctx.serverId, toStepInfo(step), state.open.startedAt);
    } else if (open && open.index === event.index) {
      const failed = event.exitCode !== 0;
      finish(
        step,
        open.startedAt,
        open.output,
        failed ? 'failed' : 'finished',
        event.exitCode,
        failed ? `${step.name} failed on ${ctx.serverName} (exit ${event.exitCode}).` : null,
        failed ? 'command_failed' : null,
      );
      state.open = null;
    }
  };
  const parser = new MarkerStreamParser(remote.nonce, {
    onText: (text) => (state.open ? state.open.output : loose).append(text),
    onMarker,
  });

  const signals = [watchdog.signal, ...(ctx.signal ? [ctx.signal] : [])];
  let exitCode: number | null = null;
  let error: unknown = null;
  // With a gate, the session opens now and the clock starts when the script is sent.
  const opened = gate
    ? gate.then(
        () => true,
        () => false,
      )
    : Promise.resolve(true);
  void opened.then((open) => {
    if (open) resetWatchdog();
  });
  try {
    const result = await ctx.transport.exec(remote.script, {
      signal: AbortSignal.any(signals),
      onOutput: (chunk) => parser.push(chunk),
      gate,
    });
    exitCode = result.exitCode;
  } catch (caught) {
    error = caught;
  }
  // A session lost while waiting is judged once the gate has opened, never before (the barrier).
  const open = await opened;
  if (timer) clearTimeout(timer);
  parser.end();
  if (!open) return { ok: false, records, stopped: null, info, notRun: true };

  const openStep = state.open;
  const alreadyFailed = records.find((record) => record.status === 'failed') ?? null;
  const allFinished =
    records.length === remote.steps.length && records.every((record) => record.status === 'finished');
  // Every step reported success: the work is done even if the connection dropped afterwards.
  if (!openStep && (allFinished || (error === null && exitCode === 0)))
    return { ok: true, records, stopped: null, info };
  if (!openStep && alreadyFailed) return { ok: false, records, stopped: alreadyFailed, info };

  // The script ended without closing the step it was in, or failed outside any step.
  const charged = openStep
    ? remote.steps[openStep.index]!
    : (remote.steps[state.lastIndex + 1] ?? remote.steps[remote.steps.length - 1] ?? actionStep('connect'));
  const output = openStep ? openStep.output : loose;
  const startedAt = openStep ? openStep.startedAt : null;
  let stopped: StepRecord;
  if (watchdog.signal.aborted) {
    const seconds = Math.round(ctx.stepTimeoutMs / 1000);
    stopped = finish(
      charged,
      startedAt,
      output,
      'failed',
      null,
      `${charged.name} on ${ctx.serverName} did not finish within ${seconds} s and was stopped.`,
      'timeout',
    );
  } else if (ctx.signal?.aborted) {
    stopped = finish(
      charged,
      startedAt,
      output,
      'cancelled',
      null,
      describeStop(ctx.signal.reason),
      'cancelled',
    );
  } else if (error !== null) {
    const message = isSlipwayError(error)
      ? error.message
      : `${charged.name} on ${ctx.serverName} failed: ${String(error)}`;
    stopped = finish(
      charged,
      startedAt,
      output,
      'failed',
      null,
      message,
      isSlipwayError(error) ? error.code : 'internal',
    );
  } else {
    stopped = finish(
      charged,
      startedAt,
      output,
      'failed',
      exitCode,
      `${charged.name} failed on ${ctx.serverName} (exit ${exitCode}).`,
      'command_failed',
    );
  }
  return { ok: false, records, stopped, info };
}

function stripStep(record: StepRecord): Omit<StepRecord, 'step'> {
  const { step: _step, ...outcome } = record;
  return outcome;
}

/** Record a step that did not come from a script's markers (connect, skipped, refused before running). */
export function recordStep(
  ctx: Pick<PhaseContext, 'serverId' | 'redactor' | 'notify'>,
  step: PlannedStep,
  status: StepRecord['status'],
  message: string | null,
  startedAt: Date | null,
  errorCode: SlipwayErrorCode | null = null,
): StepRecord {
  const output = new BoundedOutput();
  if (message !== null && status !== 'finished') output.append(message);
  const record: StepRecord = {
    step: toStepInfo(step),
    status,
    exitCode: null,
    ...output.render(ctx.redactor),
    startedAt,
    finishedAt: new Date(),
    message: message === null ? null : ctx.redactor.redact(message),
    errorCode,
  };
  ctx.notify.stepFinished(ctx.serverId, record.step, stripStep(record));
  return record;
}

/** The `connect` step: open the connection (checking the host key) as a recorded step. */
export async function runConnectStep(ctx: PhaseContext): Promise<StepRecord> {
  const step = actionStep('connect');
  const startedAt = new Date();
  ctx.notify.stepStarted(ctx.serverId, toStepInfo(step), startedAt);
  try {
    await ctx.transport.connect(ctx.signal);
    return recordStep(ctx, step, 'finished', null, startedAt);
  } catch (error) {
    if (ctx.signal?.aborted) {
      return recordStep(ctx, step, 'cancelled', describeStop(ctx.signal.reason), startedAt, 'cancelled');
    }
    if (error instanceof SlipwayError)
      return recordStep(ctx, step, 'failed', error.message, startedAt, error.code);
    const message = `Could not connect to ${ctx.serverName}: ${String(error)}`;
    return recordStep(ctx, step, 'failed', message, startedAt, 'ssh_failed');
  }
}
