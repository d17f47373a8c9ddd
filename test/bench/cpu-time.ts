import { readFile } from 'node:fs/promises';

/** Linux's USER_HZ is 100: /proc counts CPU time in hundredths of a second. */
const CLOCK_TICK_MS = 10;

/** CPU time the whole machine has spent busy (all cores, every state but idle and iowait), in ms. */
export async function machineCpuMs(): Promise<number> {
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const [user, nice, system, , , irq, softirq, steal] = cpu!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) * CLOCK_TICK_MS;
}

/** CPU time (user + system) one process has used, in ms. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}
