import { sshdAvailable } from './sshd.js';

/**
 * SSH suites run against real OpenSSH. On a developer machine without sshd they are skipped,
 * and the test run says so up front (test/support/global-setup.ts), so `npm test` works on a
 * machine with only Node and git. In CI (CI=true) they never skip: a missing sshd fails them,
 * and .ci/run installs openssh-server.
 */
export const skipSshSuites = !sshdAvailable() && process.env.CI !== 'true';
