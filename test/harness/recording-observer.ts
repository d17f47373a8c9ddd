import type { RunObserver, RunPhase, StepInfo, StepOutcome } from '../../src/engine/plan.js';

export type RecordedEvent =
  | { type: 'started'; serverId: string; step: StepInfo; at: Date }
  | { type: 'finished'; serverId: string; step: StepInfo; outcome: StepOutcome }
  | { type: 'hostKey'; serverId: string; fingerprint: string }
  | { type: 'phase'; phase: RunPhase };

/** A RunObserver that keeps every call, in order, for assertions. */
export class RecordingObserver implements RunObserver {
  readonly events: RecordedEvent[] = [];
  /** Set by a test to act at the barrier (the engine awaits it before switching anyone). */
  beforeActivation?: () => Promise<void>;

  onStepStarted(serverId: string, step: StepInfo, at: Date): void {
    this.events.push({ type: 'started', serverId, step, at });
  }

  onStepFinished(serverId: string, step: StepInfo, outcome: StepOutcome): void {
    this.events.push({ type: 'finished', serverId, step, outcome });
  }

  onHostKeyLearned(serverId: string, fingerprint: string): void {
    this.events.push({ type: 'hostKey', serverId, fingerprint });
  }

  onPhase(phase: RunPhase): void {
    this.events.push({ type: 'phase', phase });
  }

  finished(serverId: string): { step: StepInfo; outcome: StepOutcome }[] {
    return this.events.flatMap((event) =>
      event.type === 'finished' && event.serverId === serverId
        ? [{ step: event.step, outcome: event.outcome }]
        : [],
    );
  }

  phases(): RunPhase[] {
    return this.events.flatMap((event) => (event.type === 'phase' ? [event.phase] : []));
  }
}
