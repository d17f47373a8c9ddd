import { type CommandRun, runCommandOnServers, type ServerCommandResult } from './command-run.js';
import { type ConvergenceReport, convergeRelease } from './convergence.js';
import { runDeployment } from './deploy-run.js';
import { inspectServers } from './inspection.js';
import type {
  ConnectionSettings,
  DeploymentPlan,
  DeploymentResult,
  PlanServer,
  RollbackPlan,
  RollbackResult,
  RunObserver,
  ServerInspection,
} from './plan.js';
import { validateConnectionSettings, validateServers } from './plan-validation.js';
import { validateReleaseName } from './release-name.js';
import { runRollback } from './rollback-run.js';
import type { TransportFactory } from './server-run.js';
import { createTransport } from './transport/create-transport.js';

export type { TransportFactory } from './server-run.js';

export interface DeploymentRunnerOptions {
  /** Defaults to SSH or local according to each server's `transport`. */
  createTransport?: TransportFactory;
}

/**
 * The engine's entry point for the core: deployments, rollbacks and inspections across a
 * project's servers, fed plain objects and reporting through a RunObserver. It holds no state
 * between calls; every call opens its own connections (one per server) and closes them.
 */
export class DeploymentRunner {
  private readonly makeTransport: TransportFactory;

  constructor(options: DeploymentRunnerOptions = {}) {
    this.makeTransport = options.createTransport ?? createTransport;
  }

  /** See runDeployment: prepare everywhere, barrier, activate everywhere, purge. Never throws for a
   * failed run (that is `status: 'failed'`); throws SlipwayError('invalid_input') for a bad plan. */
  deploy(plan: DeploymentPlan, observer: RunObserver, signal?: AbortSignal): Promise<DeploymentResult> {
    return runDeployment(this.makeTransport, plan, observer, signal);
  }

  /** Switch every server to `targetRelease`, or to the release before the live one; all or nothing. */
  rollback(
    plan: RollbackPlan,
    observer: RunObserver,
    targetRelease?: string | null,
  ): Promise<RollbackResult> {
    return runRollback(this.makeTransport, plan, observer, targetRelease);
  }

  /** Runs a command in the live release of every server (a pipeline's smoke step); see runCommandOnServers. */
  runCommand(
    servers: PlanServer[],
    settings: ConnectionSettings,
    run: CommandRun,
    onHostKeyLearned?: (serverId: string, fingerprint: string) => void,
  ): Promise<ServerCommandResult[]> {
    return runCommandOnServers(this.makeTransport, servers, settings, run, onHostKeyLearned);
  }

  /**
   * Which release each server's `current` points to, and which releases it holds — used after a
   * crash to make the records match reality. A server that cannot be read gets `error` set.
   */
  inspect(
    servers: PlanServer[],
    settings: ConnectionSettings,
    onHostKeyLearned?: (serverId: string, fingerprint: string) => void,
  ): Promise<ServerInspection[]> {
    validateServers(servers);
    validateConnectionSettings(settings);
    return inspectServers(this.makeTransport, servers, settings, onHostKeyLearned);
  }

  /**
   * Crash recovery for a deployment whose process died: stop what still runs for `releaseName`,
   * remove it from every server where it is not live (it never passed the barrier there), and
   * report as inspect does. Where it is live it is kept, and the report shows it.
   */
  discardRelease(
    servers: PlanServer[],
    settings: ConnectionSettings,
    releaseName: string,
    onHostKeyLearned?: (serverId: string, fingerprint: string) => void,
  ): Promise<ServerInspection[]> {
    validateReleaseName(releaseName);
    validateServers(servers);
    validateConnectionSettings(settings);
    return inspectServers(this.makeTransport, servers, settings, onHostKeyLearned, releaseName);
  }

  /**
   * Crash recovery for a deployment whose process died after activation had begun: every server
   * is brought to one release — switched back, or the switch finished — and the report says which.
   */
  converge(
    servers: PlanServer[],
    settings: ConnectionSettings,
    releaseName: string,
    onHostKeyLearned?: (serverId: string, fingerprint: string) => void,
  ): Promise<ConvergenceReport> {
    validateReleaseName(releaseName);
    validateServers(servers);
    validateConnectionSettings(settings);
    return convergeRelease(this.makeTransport, servers, settings, releaseName, onHostKeyLearned);
  }
}
