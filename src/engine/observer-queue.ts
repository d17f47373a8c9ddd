import type { RunObserver, RunPhase, StepInfo, StepOutcome } from './plan.js';

/**
 * Delivers observer calls one at a time and in order, without making the servers wait for them
 * (the core writes rows in these callbacks). Errors are kept, not thrown: a failed row update
 * must not abandon a half-activated deployment.
 */
export class ObserverQueue {
  readonly errors: unknown[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly observer: RunObserver) {}

  stepStarted(serverId: string, step: StepInfo, startedAt: Date): void {
    this.push(() => this.observer.onStepStarted(serverId, step, startedAt));
  }

  stepFinished(serverId: string, step: StepInfo, outcome: StepOutcome): void {
    this.push(() => this.observer.onStepFinished(serverId, step, outcome));
  }

  hostKeyLearned(serverId: string, fingerprint: string): void {
    this.push(() => this.observer.onHostKeyLearned(serverId, fingerprint));
  }

  phase(phase: RunPhase): void {
    this.push(() => this.observer.onPhase?.(phase));
  }

  /** Resolves when every call made so far has settled. */
  async drain(): Promise<void> {
    await this.chain;
  }

  private push(call: () => void | Promise<void>): void {
    this.chain = this.chain.then(call).catch((error: unknown) => {
      this.errors.push(error);
    });
  }
}
