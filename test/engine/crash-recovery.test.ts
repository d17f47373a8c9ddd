import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { PlanServer } from '../../src/engine/plan.js';
import { currentRelease, makePlan, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { RecordingObserver } from '../harness/recording-observer.js';
import { runCommand } from '../harness/run-command.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';

const CHILD = join(import.meta.dirname, '../harness/deploy-child.ts');

async function processesMatching(marker: string): Promise<string[]> {
  const out = await runCommand('ps', ['-eo', 'pid=,args=']);
  return out.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

describe.skipIf(skipSshSuites)('crash recovery', () => {
  let ssh: SshHosts;
  let repo: FixtureRepository;
  const runner = new DeploymentRunner();

  beforeAll(async () => {
    ssh = await startSshHosts(3);
    repo = await createFixtureRepository({ owner: ssh.user });
  }, 60_000);
  afterAll(async () => {
    await ssh?.stopAll();
    await repo?.cleanup();
  });

  it('after the deploying process is SIGKILLed mid-install, discardRelease leaves every host on its old release', async () => {
    const servers: PlanServer[] = ssh.hosts.map((host) => host.server({ subPath: 'crash' }));
    const input = {
      repository: repo.path,
      commit: repo.commits[1]!,
      servers,
      privateKey: ssh.clientPrivateKey,
    };
    const good = makePlan(input);
    expect((await runner.deploy(good, new RecordingObserver())).status).toBe('finished');

    const marker = `sleep 30.${process.pid}3`;
    const doomed = makePlan(input, { installCommand: `echo installing; ${marker}` });
    // Node itself with tsx's loader, not the tsx wrapper: a SIGKILL of the wrapper would leave the
    // process doing the work alive (not a crash at all, and an orphan that never exits).
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify(doomed));
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (data: Buffer) => {
        seen += data.toString();
        if ((seen.match(/ install\n/g) ?? []).length === servers.length) resolve();
      });
      child.once('exit', () => reject(new Error(`child exited early:\n${seen}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await processesMatching(marker)).length).toBe(3);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    // The remote installs outlive the dead client; the half-built release is on every host.
    expect((await processesMatching(marker)).length).toBe(3);
    for (const server of servers) expect(await releasesOn(server.deployPath)).toContain(doomed.releaseName);

    const report = await runner.discardRelease(
      servers,
      { privateKey: ssh.clientPrivateKey, concurrency: 3, commandTimeoutMs: 10_000, connectTimeoutMs: 5_000 },
      doomed.releaseName,
    );
    for (const server of servers) {
      expect(report.find((r) => r.serverId === server.id)).toEqual({
        serverId: server.id,
        currentRelease: good.releaseName,
        releases: [good.releaseName],
        error: null,
        errorCode: null,
      });
    }
    expect(await processesMatching(marker)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const server of servers) {
      expect(await currentRelease(server.deployPath)).toBe(good.releaseName);
      expect(await releasesOn(server.deployPath)).toEqual([good.releaseName]);
    }
  }, 60_000);

  it('discardRelease keeps a release that is already live', async () => {
    const servers: PlanServer[] = ssh.hosts.map((host) => host.server({ subPath: 'crash-live' }));
    const live = makePlan({
      repository: repo.path,
      commit: repo.commits[0]!,
      servers,
      privateKey: ssh.clientPrivateKey,
    });
    await runner.deploy(live, new RecordingObserver());
    const report = await runner.discardRelease(
      servers,
      { privateKey: ssh.clientPrivateKey, concurrency: 3, commandTimeoutMs: 10_000, connectTimeoutMs: 5_000 },
      live.releaseName,
    );
    for (const entry of report)
      expect(entry).toMatchObject({ currentRelease: live.releaseName, releases: [live.releaseName] });
  }, 60_000);
});
