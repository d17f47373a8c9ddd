import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/engine/transport/ssh-transport.js';
import { isSlipwayError, type SlipwayError } from '../../src/errors.js';
import { runCommand } from '../harness/run-command.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';

async function caught(promise: Promise<unknown>): Promise<SlipwayError> {
  try {
    await promise;
  } catch (error) {
    if (isSlipwayError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Processes on this machine whose command line contains `marker` (the hosts are local). */
async function processesMatching(marker: string): Promise<string[]> {
  const out = await runCommand('ps', ['-eo', 'pid=,args=']);
  return out.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe.skipIf(skipSshSuites)('SshTransport (real OpenSSH)', () => {
  let ssh: SshHosts;
  beforeAll(async () => {
    ssh = await startSshHosts(1);
  }, 60_000);
  afterAll(() => ssh?.stopAll());

  const transport = (pin: string | null, onHostKeyLearned?: (fp: string) => void) =>
    new SshTransport({
      label: 'host-0',
      host: '127.0.0.1',
      port: ssh.hosts[0]!.port,
      username: ssh.user,
      privateKey: ssh.clientPrivateKey,
      knownHostKey: pin,
      onHostKeyLearned,
      connectTimeoutMs: 10_000,
    });

  it('runs scripts over one connection and returns exit code and interleaved output', async () => {
    const before = (await readFile(ssh.hosts[0]!.logPath, 'utf8')).split('Accepted publickey').length;
    const t = transport(ssh.hosts[0]!.hostKeyFingerprint);
    try {
      const chunks: string[] = [];
      const first = await t.exec('echo out; echo err >&2; exit 7', {
        onOutput: (chunk) => chunks.push(chunk),
      });
      expect(first.exitCode).toBe(7);
      expect(first.output).toContain('out\n');
      expect(first.output).toContain('err\n');
      expect(chunks.join('')).toBe(first.output);
      // The script arrives on stdin, so a script that reads stdin gets nothing of its own text.
      const second = await t.exec('cat; echo "user=$(id -un)"');
      expect(second).toEqual({ exitCode: 0, output: `user=${ssh.user}\n` });
      for (let i = 0; i < 3; i++) expect((await t.exec(`echo ${i}`)).output).toBe(`${i}\n`);
    } finally {
      await t.close();
    }
    const after = (await readFile(ssh.hosts[0]!.logPath, 'utf8')).split('Accepted publickey').length;
    expect(after - before).toBe(1);
  }, 60_000);

  it('keeps what a script writes to stderr last, and in the order it was written', async () => {
    const t = transport(ssh.hosts[0]!.hostKeyFingerprint);
    try {
      // A failing install prints its reason on stderr just before it exits; sshd reads stdout and
      // stderr from two pipes, so the exit line (on stdout) could overtake the last of stderr.
      for (let i = 0; i < 20; i++) {
        const { exitCode, output } = await t.exec(
          `echo "start ${i}"; head -c 200000 /dev/zero | tr '\\0' e >&2; echo "middle ${i}"; echo "reason ${i}" >&2; exit 3`,
        );
        expect(exitCode).toBe(3);
        // 200,000 characters would drown a failure's message: the run of e's is counted instead.
        const shown = output.replace(/e+/, (run) => `<${run.length} e>`);
        expect(shown).toBe(`start ${i}\n<200000 e>middle ${i}\nreason ${i}\n`);
      }
    } finally {
      await t.close();
    }
  }, 60_000);

  it('hands bash the whole script in one read, counted in bytes, not one read(2) per byte', async () => {
    const t = transport(ssh.hosts[0]!.hostKeyFingerprint);
    try {
      // 20 KB of script, with multi-byte characters in it: bash -s reads a pipe a byte at a time
      // (it must not read past the command it runs), 20,000 system calls on every server.
      const filler = Array.from({ length: 400 }, (_, i) => `: 'ligne ${i} — déjà vu ✓ ${'x'.repeat(20)}'`);
      const script = [...filler, "echo 'fin ✓'", 'grep ^syscr: /proc/$$/io'].join('\n');
      expect(Buffer.byteLength(script)).toBeGreaterThan(20_000);
      const { exitCode, output } = await t.exec(script);
      expect(exitCode).toBe(0);
      expect(output).toMatch(/^fin ✓\nsyscr: \d+\n$/);
      const reads = Number(/syscr: (\d+)/.exec(output)![1]);
      expect(reads).toBeLessThan(200);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('runs one script after another in one session, none seeing what the one before did', async () => {
    const t = transport(ssh.hosts[0]!.hostKeyFingerprint);
    try {
      // In a subshell $$ is the shell that started it: the session's own bash.
      const first = await t.exec('echo "$$"; cd /tmp; FOO=set; exit 3');
      expect(first.exitCode).toBe(3);
      const second = await t.exec(
        'echo "$$"; pwd; if [ -n "$FOO" ]; then echo set; else echo unset; fi; printf no-newline',
      );
      expect(second.exitCode).toBe(0);
      const [firstShell] = first.output.split('\n');
      const [secondShell, directory, foo, last] = second.output.split('\n');
      expect(secondShell).toBe(firstShell);
      expect(directory).not.toBe('/tmp');
      expect(foo).toBe('unset');
      expect(last).toBe('no-newline');
      // Output that looks like the end of a script does not end this one.
      const forged = await t.exec(
        "echo '::slipway-exit-000000000000000000000000 0'; sleep 0.2; echo after; exit 5",
      );
      expect(forged).toEqual({ exitCode: 5, output: '::slipway-exit-000000000000000000000000 0\nafter\n' });
      // A syntax error runs nothing, and the session goes on.
      const broken = await t.exec('echo ran; if true; then');
      expect(broken.exitCode).not.toBe(0);
      expect(broken.output).not.toContain('ran');
      expect((await t.exec('echo "$$"')).output).toBe(`${firstShell}\n`);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('opens a new session after a kill took the old one, on the same connection', async () => {
    const before = (await readFile(ssh.hosts[0]!.logPath, 'utf8')).split('Accepted publickey').length;
    const t = transport(ssh.hosts[0]!.hostKeyFingerprint);
    try {
      const shell = (await t.exec('echo "$$"')).output;
      const error = await caught(t.exec('sleep 30', { timeoutMs: 300 }));
      expect(error.code).toBe('timeout');
      const next = (await t.exec('echo "$$"')).output;
      expect(next).toMatch(/^\d+\n$/);
      expect(next).not.toBe(shell);
    } finally {
      await t.close();
    }
    const after = (await readFile(ssh.hosts[0]!.logPath, 'utf8')).split('Accepted publickey').length;
    expect(after - before).toBe(1);
  }, 60_000);

  it('learns an unpinned host key and reports it once', async () => {
    const learned: string[] = [];
    const t = transport(null, (fp) => learned.push(fp));
    try {
      await t.exec('true');
      await t.exec('true');
    } finally {
      await t.close();
    }
    expect(learned).toEqual([ssh.hosts[0]!.hostKeyFingerprint]);
  }, 60_000);

  it('refuses a host whose key does not match the pin, before running anything', async () => {
    const wrongPin = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const t = transport(wrongPin);
    const error = await caught(t.exec('touch /tmp/should-not-exist-slipway'));
    await t.close();
    expect(error.code).toBe('host_key_mismatch');
    expect(error.message).toContain(wrongPin);
    expect(error.message).toContain(ssh.hosts[0]!.hostKeyFingerprint);
    expect(error.details).toMatchObject({ expected: wrongPin, actual: ssh.hosts[0]!.hostKeyFingerprint });
  }, 60_000);

  it('kills the whole remote process tree on timeout', async () => {
    const marker = `sleep 41.${process.pid}`;
    const t = transport(ssh.hosts[0]!.hostKeyFingerprint);
    const started = Date.now();
    try {
      const error = await caught(
        t.exec(`echo started; ${marker} & ${marker}; echo never`, { timeoutMs: 1000 }),
      );
      expect(error.code).toBe('timeout');
      expect(String(error.details?.output)).toContain('started');
      expect(Date.now() - started).toBeLessThan(6000);
      // The connection is still usable afterwards.
      expect((await t.exec('echo alive')).output).toBe('alive\n');
    } finally {
      await t.close();
    }
    expect(await processesMatching(marker)).toEqual([]);
  }, 60_000);

  it('stops a command when its signal aborts', async () => {
    const marker = `sleep 42.${process.pid}`;
    const t = transport(ssh.hosts[0]!.hostKeyFingerprint);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    try {
      const error = await caught(t.exec(`${marker}`, { signal: controller.signal }));
      expect(error.code).toBe('cancelled');
    } finally {
      await t.close();
    }
    expect(await processesMatching(marker)).toEqual([]);
  }, 60_000);

  it('says clearly when the key is not authorised', async () => {
    const t = new SshTransport({
      label: 'host-0',
      host: '127.0.0.1',
      port: ssh.hosts[0]!.port,
      username: ssh.user,
      privateKey: (await import('../../src/engine/keys.js')).generateProjectKeyPair('other').privateKey,
      knownHostKey: ssh.hosts[0]!.hostKeyFingerprint,
      connectTimeoutMs: 10_000,
    });
    const error = await caught(t.connect());
    await t.close();
    expect(error.code).toBe('ssh_failed');
    expect(error.message).toContain('authorized_keys');
  }, 60_000);
});
