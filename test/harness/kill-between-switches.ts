import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DeploymentPlan } from '../../src/engine/plan.js';

const CHILD = join(import.meta.dirname, 'stalled-activation-child.ts');

/** Runs `plan` in a child process and SIGKILLs it once a server is switched while `stall`'s switch never starts. */
export async function killBetweenSwitches(plan: DeploymentPlan, stall: string): Promise<void> {
  // Node itself with tsx's loader, not the tsx wrapper: a SIGKILL of the wrapper would leave the
  // process doing the work alive (not a crash at all, and an orphan that never exits).
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify({ plan, stall }));
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (data: Buffer) => {
      seen += data.toString();
      if (seen.includes('activated ')) resolve();
    });
    child.once('exit', () => reject(new Error(`child exited early:\n${seen}`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}
