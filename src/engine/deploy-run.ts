import { SlipwayError } from '../errors.js';
import { forEachLimited } from './concurrency.js';
import { lastInfo } from './inspection.js';
import { ObserverQueue } from './observer-queue.js';
import { type PhaseOutcome, runConnectStep, runPhase } from './phase-execution.js';
import type { DeploymentPlan, DeploymentResult, RunFailure, RunObserver, StepRecord } from './plan.js';
import { validatePlan } from './plan-validation.js';
import { buildRedactor } from './redaction.js';
import {
  buildActivateScript,
  buildCleanupScript,
  buildPrepareScript,
  buildRevertScript,
} from './release-scripts.js';
import {
  closeRuns,
  createServerRun,
  failureOf,
  type ServerRun,
  settleRuns,
  type TransportFactory,
} from './server-run.js';
import { actionStep, planServerSteps, toStepInfo } from './steps.js';

/** Closes the activation gate when the barrier is not passed: nothing is activated. */
class BarrierNotPassed extends Error {}

/**
 * One deployment across all of a plan's servers. Two round trips per server on one
 * connection: prepare (clone, link, install and every hook up to before-activate), then
 * activate (symlink swap, after-activate hooks, purge and its hooks).
 *
 * - Prepare runs on all servers in parallel up to the concurrency cap. As soon as a server has
 *   prepared, its activation session is opened and waits: the barrier only has to send a script.
 * - Barrier: activation starts only when every server has prepared (and the observer has
 *   recorded that activation begins). A failure or a cancel before it stops the other servers'
 *   commands and removes the new release on every server that got one; nobody was switched.
 * - Activation runs on all servers at once; if any server fails the swap or an after-activate
 *   hook, every server is switched back and the new release removed. A purge failure fails the
 *   deployment but switches nobody back: the release is live everywhere.
 * - Cancel is ignored once activation has begun: finishing is safer than stopping halfway.
 */
export async function runDeployment(
  makeTransport: TransportFactory,
  plan: DeploymentPlan,
  observer: RunObserver,
  signal?: AbortSignal,
): Promise<DeploymentResult> {
  validatePlan(plan);
  const redactor = buildRedactor({
    secrets: plan.secrets,
    envFile: plan.envFile,
    privateKey: plan.privateKey,
  });
  const notify = new ObserverQueue(observer);
  const stop = new AbortController();
  // Every script is built before any server is touched, so a value that cannot be sent (a NUL
  // in a hook, say) fails the whole deployment up front rather than halfway through.
  const scripts = new Map(
    plan.servers.map((server) => {
      const steps = planServerSteps(plan, server);
      const activate = [...steps.activate, ...steps.purge];
      return [
        server.id,
        {
          planned: [actionStep('connect'), ...steps.prepare, ...activate],
          prepare: buildPrepareScript(plan, server, steps.prepare),
          activate: buildActivateScript(plan, server, activate),
          /** Steps of the activate script up to here switch the server; the rest is purge. */
          switching: steps.activate.length,
        },
      ];
    }),
  );
  const scriptsOf = (run: ServerRun) => scripts.get(run.server.id)!;
  const runs = plan.servers.map((server) =>
    createServerRun(
      makeTransport,
      server,
      plan,
      { redactor, notify, signal: stop.signal },
      scripts.get(server.id)!.planned,
    ),
  );
  const finish = (status: DeploymentResult['status'], activated: boolean, failure: RunFailure | null) => ({
    status,
    activated,
    failure,
    servers: settleRuns(runs, notify),
    observerErrors: notify.errors,
  });

  let activationStarted = false;
  let cancelled = false;
  let failure: RunFailure | null = null;
  const onCancel = () => {
    if (activationStarted || stop.signal.aborted) return;
    cancelled = true;
    stop.abort(new SlipwayError('cancelled', 'The deployment was cancelled.'));
  };
  const fail = (run: ServerRun, record: StepRecord) => {
    failure ??= failureOf(run, record);
    if (!stop.signal.aborted) {
      stop.abort(
        new SlipwayError('cancelled', `Stopped because ${run.server.name} failed: ${failure.message}`),
      );
    }
  };
  if (signal?.aborted) onCancel();
  signal?.addEventListener('abort', onCancel, { once: true });

  const { promise: gate, resolve: openGate, reject: closeGate } = Promise.withResolvers<void>();
  gate.catch(() => undefined);
  const activations = new Map<ServerRun, Promise<PhaseOutcome>>();

  try {
    notify.phase('prepare');
    await forEachLimited(runs, plan.concurrency, async (run) => {
      if (stop.signal.aborted) return;
      const connected = await runConnectStep(run.ctx);
      run.records.push(connected);
      if (connected.status === 'failed') fail(run, connected);
      if (connected.status !== 'finished' || stop.signal.aborted) return;
      run.touched = true;
      const prepared = await runPhase(run.ctx, scriptsOf(run).prepare);
      run.records.push(...prepared.records);
      run.previousRelease = lastInfo(prepared.info, 'current');
      run.currentRelease = run.previousRelease;
      if (prepared.stopped?.status === 'failed') fail(run, prepared.stopped);
      if (!prepared.ok || stop.signal.aborted) return;
      // Prepared: open the activation session now; it runs when the barrier is passed.
      activations.set(run, runPhase({ ...run.ctx, signal: undefined }, scriptsOf(run).activate, gate));
    });

    if (failure === null && !cancelled) {
      try {
        // The last moment nobody is switched: the observer records that activation begins.
        await observer.beforeActivation?.();
      } catch (error) {
        failure = {
          serverId: runs[0]!.server.id,
          serverName: runs[0]!.server.name,
          step: toStepInfo(actionStep('activate')),
          exitCode: null,
          outputTail: '',
          errorCode: 'internal',
          message: `Activation did not start: its start could not be recorded (${String(error)}).`,
        };
      }
    }

    if (failure !== null || cancelled) {
      closeGate(new BarrierNotPassed());
      await Promise.all(activations.values());
      notify.phase('cleanup');
      await forEachLimited(
        runs.filter((run) => run.touched),
        plan.concurrency,
        (run) => removeRelease(run, plan.releaseName),
      );
      return finish(failure ? 'failed' : 'cancelled', false, failure);
    }

    // The barrier is passed: from here on, cancel is ignored.
    activationStarted = true;
    notify.phase('activate');
    openGate();
    const outcomes = await Promise.all(
      runs.map(async (run): Promise<[ServerRun, PhaseOutcome]> => {
        const outcome = await activations.get(run)!;
        run.records.push(...outcome.records);
        if (
          outcome.records.some((record) => record.step.action === 'activate' && record.status === 'finished')
        ) {
          run.currentRelease = plan.releaseName;
        }
        return [run, outcome];
      }),
    );
    const switchFailed = ([run, outcome]: [ServerRun, PhaseOutcome]) => {
      if (outcome.ok || outcome.stopped === null) return false;
      const index = scriptsOf(run).activate.steps.findIndex((step) => step.key === outcome.stopped!.step.key);
      return index < scriptsOf(run).switching;
    };
    const failedActivation = outcomes.find(switchFailed);
    if (failedActivation) {
      const [run, outcome] = failedActivation;
      failure = failureOf(run, outcome.stopped!);
      notify.phase('revert');
      await Promise.all(runs.map((each) => revert(each, plan.releaseName)));
      return finish('failed', false, failure);
    }
    // A purge failure fails the deployment, but the release is live everywhere (activated).
    const failedPurge = outcomes.find(([, outcome]) => !outcome.ok);
    if (failedPurge) failure = failureOf(failedPurge[0], failedPurge[1].stopped!);
    return finish(failure ? 'failed' : 'finished', true, failure);
  } finally {
    signal?.removeEventListener('abort', onCancel);
    closeGate(new BarrierNotPassed());
    await closeRuns(runs);
  }
}

/** Remove a release that never went live; not cancellable itself (it is the cleanup of a cancel). */
async function removeRelease(run: ServerRun, releaseName: string): Promise<void> {
  const outcome = await runPhase(
    { ...run.ctx, signal: undefined },
    buildCleanupScript(run.server, releaseName, actionStep('cleanup')),
  );
  run.records.push(...outcome.records);
}

/** Switch a server back to the release it had before this deployment, and remove the new one. */
async function revert(run: ServerRun, releaseName: string): Promise<void> {
  const outcome = await runPhase(
    { ...run.ctx, signal: undefined },
    buildRevertScript(run.server, releaseName, run.previousRelease, actionStep('revert')),
  );
  run.records.push(...outcome.records);
  if (outcome.ok) run.currentRelease = lastInfo(outcome.info, 'current');
}
