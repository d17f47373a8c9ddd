import { isSlipwayError, type SlipwayErrorCode } from '../errors.js';
import { forEachLimited } from './concurrency.js';
import { lastInfo, type ReleaseState, readReleaseState, releaseBefore } from './inspection.js';
import { ObserverQueue } from './observer-queue.js';
import { type PhaseOutcome, recordStep, runConnectStep, runPhase } from './phase-execution.js';
import type { RollbackPlan, RollbackResult, RunFailure, RunObserver } from './plan.js';
import { validateConnectionSettings, validateServers } from './plan-validation.js';
import { buildRedactor } from './redaction.js';
import { validateReleaseName } from './release-name.js';
import { buildSwitchScript } from './release-scripts.js';
import {
  closeRuns,
  createServerRun,
  failureOf,
  type ServerRun,
  settleRuns,
  type TransportFactory,
} from './server-run.js';
import { actionStep } from './steps.js';

/** Why `state` has no usable rollback target, or null when `target` is fine. */
function refusal(serverName: string, state: ReleaseState, target: string | null): string | null {
  if (target === null) {
    return state.currentRelease === null
      ? `${serverName} has no live release to roll back from.`
      : `${serverName} has no release before ${state.currentRelease} to roll back to.`;
  }
  return state.releases.includes(target)
    ? null
    : `Release ${target} is not on ${serverName} (it may have been purged).`;
}

/**
 * Point `current` back on every server: at `targetRelease` when given, else at the release just
 * before the live one (per server). Every server is checked first (one round trip each) and
 * nobody is switched unless every server has its target; then all switch at once (atomically,
 * one round trip), and if one switch fails the others are switched back. No rebuild, no hooks.
 */
export async function runRollback(
  makeTransport: TransportFactory,
  plan: RollbackPlan,
  observer: RunObserver,
  targetRelease?: string | null,
): Promise<RollbackResult> {
  validateServers(plan.servers);
  validateConnectionSettings(plan);
  if (targetRelease) validateReleaseName(targetRelease);
  const redactor = buildRedactor({ secrets: plan.secrets ?? [], privateKey: plan.privateKey });
  const notify = new ObserverQueue(observer);
  const runs = plan.servers.map((server) =>
    createServerRun(makeTransport, server, plan, { redactor, notify, signal: undefined }, [
      actionStep('connect'),
      actionStep('rollback'),
    ]),
  );
  const finish = (status: RollbackResult['status'], failure: RunFailure | null) => ({
    status,
    failure,
    servers: settleRuns(runs, notify),
    observerErrors: notify.errors,
  });
  const targets = new Map<ServerRun, string>();
  let failure: RunFailure | null = null;
  const refuse = (run: ServerRun, message: string, code: SlipwayErrorCode) => {
    const record = recordStep(run.ctx, actionStep('rollback'), 'failed', message, null, code);
    run.records.push(record);
    failure ??= failureOf(run, record);
  };

  const { promise: gate, resolve: openGate, reject: closeGate } = Promise.withResolvers<void>();
  gate.catch(() => undefined);
  const switches = new Map<ServerRun, Promise<PhaseOutcome>>();

  try {
    notify.phase('rollback');
    await forEachLimited(runs, plan.concurrency, async (run) => {
      const connected = await runConnectStep(run.ctx);
      run.records.push(connected);
      if (connected.status !== 'finished') {
        failure ??= failureOf(run, connected);
        return;
      }
      let state: ReleaseState;
      try {
        state = await readReleaseState(run.transport, run.server, plan.commandTimeoutMs);
      } catch (error) {
        refuse(
          run,
          isSlipwayError(error) ? error.message : String(error),
          isSlipwayError(error) ? error.code : 'internal',
        );
        return;
      }
      run.previousRelease = state.currentRelease;
      run.currentRelease = state.currentRelease;
      const target = targetRelease ?? releaseBefore(state);
      const refused = refusal(run.server.name, state, target);
      if (refused !== null || target === null) {
        refuse(run, refused ?? 'No rollback target.', 'not_found');
        return;
      }
      targets.set(run, target);
      // Checked: the switch session opens now and runs once every server is checked.
      switches.set(
        run,
        runPhase(run.ctx, buildSwitchScript(run.server, target, actionStep('rollback')), gate),
      );
    });
    if (failure === null) {
      try {
        await observer.beforeActivation?.();
      } catch (error) {
        const run = runs[0]!;
        refuse(run, `The switch did not start: it could not be recorded (${String(error)}).`, 'internal');
      }
    }
    if (failure !== null) {
      closeGate(new Error('not every server can be rolled back'));
      await Promise.all(switches.values());
      return finish('failed', failure);
    }

    openGate();
    const outcomes = await Promise.all(
      runs.map(async (run): Promise<[ServerRun, PhaseOutcome]> => {
        const outcome = await switches.get(run)!;
        run.records.push(...outcome.records);
        run.currentRelease = lastInfo(outcome.info, 'current') ?? run.currentRelease;
        return [run, outcome];
      }),
    );
    const failed = outcomes.find(([, outcome]) => !outcome.ok);
    if (!failed) return finish('finished', null);

    failure = failureOf(failed[0], failed[1].stopped!);
    notify.phase('revert');
    await Promise.all(
      runs
        .filter((run) => run.previousRelease !== null && run.currentRelease !== run.previousRelease)
        .map(async (run) => {
          const outcome = await runPhase(
            run.ctx,
            buildSwitchScript(run.server, run.previousRelease!, actionStep('revert')),
          );
          run.records.push(...outcome.records);
          run.currentRelease = lastInfo(outcome.info, 'current') ?? run.currentRelease;
        }),
    );
    return finish('failed', failure);
  } finally {
    closeGate(new Error('the rollback ended'));
    await closeRuns(runs);
  }
}
