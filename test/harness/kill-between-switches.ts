import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DeploymentPlan } from '../../src/engine/plan.js';

const TSX = join(import.meta.dirname, '../../node_modules/.bin/tsx');
const CHILD = join(import.meta.dirname, 'stalled-activation-child.ts');

/** Runs `plan` in a child process and SIGKILLs it once a server is switched while `stall`'s switch never starts. */
export async function killBetweenSwitches(plan: DeploymentPlan, stall: string): Promise<void> {
  const child = spawn(TSX, [CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
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
