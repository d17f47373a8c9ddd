import { sshdAvailable } from './sshd.js';

/**
 * SSH suites run against real OpenSSH. Where sshd is missing they fail loudly (the harness
 * says how to install it), unless a developer opts out with SLIPWAY_ALLOW_FAKE_SSHD=1, which
 * skips them instead. CI installs openssh-server and never sets it.
 */
export const skipSshSuites = !sshdAvailable() && process.env.SLIPWAY_ALLOW_FAKE_SSHD === '1';
