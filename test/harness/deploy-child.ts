/**
 * A deployment in a child process, for crash tests: reads a DeploymentPlan as JSON on stdin,
 * runs it, and prints `started <serverId> <stepKey>` as steps start, so the parent knows when to
 * SIGKILL it.
 */
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { DeploymentPlan } from '../../src/engine/plan.js';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const plan = JSON.parse(input) as DeploymentPlan;
const result = await new DeploymentRunner().deploy(plan, {
  onStepStarted: (serverId, step) => {
    process.stdout.write(`started ${serverId} ${step.key}\n`);
  },
  onStepFinished: () => {},
  onHostKeyLearned: () => {},
});
process.stdout.write(`result ${result.status}\n`);
