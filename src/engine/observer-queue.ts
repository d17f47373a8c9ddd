import type { RunObserver, RunPhase, StepInfo, StepOutcome } from './plan.js';

/**
 * Delivers observer calls as things happen, in order, and never makes the run wait for them:
 * a call is made synchronously and whatever it returns is not awaited (the core buffers rows
 * and writes them in batches of its own). Errors — thrown, or a returned promise that rejects —
 * are kept, not thrown: a failed row write must not abandon a half-activated deployment.
 */
export class ObserverQueue {
  readonly errors: unknown[] = [];

  constructor(private readonly observer: RunObserver) {}

  stepStarted(serverId: string, step: StepInfo, startedAt: Date): void {
    this.call(() => this.observer.onStepStarted(serverId, step, startedAt));
  }

  stepFinished(serverId: string, step: StepInfo, outcome: StepOutcome): void {
    this.call(() => this.observer.onStepFinished(serverId, step, outcome));
  }

  hostKeyLearned(serverId: string, fingerprint: string): void {
    this.call(() => this.observer.onHostKeyLearned(serverId, fingerprint));
  }

  phase(phase: RunPhase): void {
    this.call(() => this.observer.onPhase?.(phase));
  }

  private call(deliver: () => void | Promise<void>): void {
    try {
      const returned = deliver();
      if (returned && typeof returned.then === 'function') {
        returned.then(undefined, (error: unknown) => {
          this.errors.push(error);
        });
      }
    } catch (error) {
      this.errors.push(error);
    }
  }
}
