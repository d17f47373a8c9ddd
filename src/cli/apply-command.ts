import { parseArgs } from 'node:util';
import { notificationSenders } from '../../adapters/index.js';
import { openAdminServices } from '../app/admin.js';
import type { Config } from '../config.js';
import { formatErrors, formatOutcome, formatPlan, loadConfigFile } from '../core/config-apply/index.js';
import { targetRulesOf } from '../core/notifications/index.js';

export const APPLY_USAGE = 'slipway apply -f <file> [--yes] [--prune]';

/**
 * `slipway apply -f slipway.yml`: print the plan; with --yes, carry it out through the core
 * services. Exit 0 when the plan was shown or applied, 1 for an invalid file or a failed change.
 */
export async function applyCommand(argv: string[], config: Config): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    strict: true,
    options: {
      file: { type: 'string', short: 'f' },
      yes: { type: 'boolean', short: 'y' },
      prune: { type: 'boolean' },
    },
  });
  if (!values.file) {
    process.stderr.write(`Usage: ${APPLY_USAGE}\n`);
    return 1;
  }
  // Read and check the file before touching the database: a bad file changes nothing.
  // Each platform's rules for a channel's target come from its sender (adapters/).
  const senders = notificationSenders(config);
  for (const sender of senders) sender.close?.();
  const loaded = await loadConfigFile(values.file, { targets: targetRulesOf(senders) });
  if (!loaded.ok) {
    process.stderr.write(formatErrors(values.file, loaded.errors));
    return 1;
  }
  const admin = await openAdminServices(config);
  try {
    const plan = await admin.planner.plan(loaded.config, values.file, { prune: values.prune === true });
    process.stdout.write(formatPlan(plan));
    if (plan.changes.length === 0) return 0;
    if (!values.yes) {
      process.stdout.write('Nothing was changed: run again with --yes to apply this plan.\n');
      return 0;
    }
    const outcome = await admin.planner.apply(plan, admin.actor);
    const text = formatOutcome(plan, outcome);
    if (outcome.failed) process.stderr.write(text);
    else process.stdout.write(text);
    return outcome.failed ? 1 : 0;
  } finally {
    await admin.close();
  }
}
