import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';

/**
 * The harness's hosts are what every SSH test trusts: a host reported as started must be that
 * host's own sshd. Found by bench:deploy failing with "the host key of web-07 has changed": two
 * hosts started at once had probed the same free port, one sshd failed to bind, and the other's
 * banner made it look started.
 */
describe.skipIf(skipSshSuites)('sshd harness', () => {
  let ssh: SshHosts;
  let impostor: Server | undefined;
  beforeAll(async () => {
    ssh = await startSshHosts(2);
  }, 60_000);
  afterAll(async () => {
    impostor?.close();
    await ssh?.stopAll();
  });

  it('gives hosts started together ports of their own', () => {
    expect(new Set(ssh.hosts.map((host) => host.port)).size).toBe(2);
  });

  it('does not report a host started when something else answers on its port', async () => {
    const host = ssh.hosts[1]!;
    await host.stop();
    // Something that greets like an sshd holds the port the host is restarted on.
    impostor = createServer((socket) => socket.end('SSH-2.0-impostor\r\n'));
    await new Promise<void>((resolve) => impostor!.listen(host.port, '127.0.0.1', resolve));
    await expect(ssh.restartHostWithNewKey(1)).rejects.toThrow(/exited .* while starting on port/);
  });
});
