/**
 * A deployment in a child process that stalls one server's activation, for crash tests: reads
 * `{ plan, stall }` as JSON on stdin (a DeploymentPlan and the id of the server whose switch
 * never starts), runs the plan, and prints `activated <serverId>` when a server has been
 * switched — the parent SIGKILLs it there, between two servers' switches.
 */
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { DeploymentPlan } from '../../src/engine/plan.js';
import { createTransport } from '../../src/engine/transport/create-transport.js';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { plan, stall } = JSON.parse(input) as { plan: DeploymentPlan; stall: string };
const runner = new DeploymentRunner({
  createTransport: (server, settings, learned) => {
    const inner = createTransport(server, settings, learned);
    if (server.id !== stall) return inner;
    return {
      label: inner.label,
      connect: (signal) => inner.connect(signal),
      // The activation script is the one sent behind the barrier's gate: it never goes out here.
      exec: (script, options) => (options?.gate ? new Promise(() => {}) : inner.exec(script, options)),
      close: () => inner.close(),
    };
  },
});
await runner.deploy(plan, {
  onStepStarted: () => {},
  onStepFinished: (serverId, step, outcome) => {
    if (step.key === 'activate' && outcome.status === 'finished')
      process.stdout.write(`activated ${serverId}\n`);
  },
  onHostKeyLearned: () => {},
});
