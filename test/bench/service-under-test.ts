import { runSlipway, type ServiceProcess } from '../support/service-process.js';

/**
 * `slipway start` as `npm start` runs it (same Node flags), in a child process, from this
 * checkout or from `root` (another checkout: how a "before" is measured).
 */
export function startService(options: {
  root?: string | undefined;
  env: Record<string, string>;
}): ServiceProcess {
  return runSlipway(['start'], options.env, { root: options.root, nodeArgs: ['--max-semi-space-size=64'] });
}
