import type { IProject } from '../../db/entities/index.js';
import type { EnvironmentTier, TestGateMode } from '../../vocabulary.js';
import type { CombinedState, CommitStatusService } from './commit-status-service.js';

export interface GateVerdict {
  /** The gate that applies to the target's tier; null for tiers without one. */
  mode: TestGateMode | null;
  state: CombinedState;
  passed: boolean;
  message: string;
}

const STATE_WORDS: Record<CombinedState, string> = {
  success: 'passed its tests',
  pending: 'has tests still running',
  failure: 'failed its tests',
  none: 'has no test results',
};

/**
 * The promotion platform's test gates: promoting to staging or production reads the commit's
 * combined test status. `block` refuses anything but success; `warn` lets a person go on after
 * confirming. Other tiers have no gate. An admin's forced promotion skips the gate (audited).
 */
export class TestGate {
  constructor(private readonly statuses: CommitStatusService) {}

  async evaluate(project: IProject, commit: string, tier: EnvironmentTier): Promise<GateVerdict> {
    const mode = tier === 'staging' || tier === 'production' ? project.testGates[tier] : null;
    const { state, statuses } = await this.statuses.of(project, commit);
    const passed = mode === null || state === 'success';
    const short = commit.slice(0, 8);
    // CI has said it is on it: the gate is waiting, and says for what.
    const running = statuses.filter((s) => s.state === 'pending').map((s) => s.context);
    const what =
      state === 'pending'
        ? `Waiting for CI on ${commit.slice(0, 7)} (${running.slice(0, 5).join(', ')}${running.length > 5 ? ', …' : ''} still running)`
        : `Commit ${short} ${STATE_WORDS[state]}`;
    const message = passed
      ? `${what}.`
      : mode === 'block'
        ? `${what}, and ${project.name}'s ${tier} test gate is "block".`
        : `${what}; ${project.name}'s ${tier} test gate is "warn": confirm to promote anyway.`;
    return { mode, state, passed, message };
  }
}
