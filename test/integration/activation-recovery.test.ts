import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planServer } from '../../src/core/deployments/index.js';
import { currentRelease, makePlan, releasesOn } from '../harness/deploy-fixtures.js';
import { killBetweenSwitches } from '../harness/kill-between-switches.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { ADA, ended, type SshDeploySuite, startSshDeploySuite } from '../support/deploy-stack.js';

/**
 * The worker is SIGKILLed between two servers' switches (a real child process): web-1 on the new
 * release, web-2 on the old one. The record says activation had begun; the reaper brings every
 * server to one release, says which, and only then frees the slot.
 */
describe.skipIf(skipSshSuites)('recovery of a run killed during activation', () => {
  let suite: SshDeploySuite;
  beforeAll(async () => {
    suite = await startSshDeploySuite(2);
  });
  afterAll(() => suite?.stop());

  it('switches the switched server back, says so, and the next deploy runs', async () => {
    const { project, servers, deployPaths, environment } = await suite.stack.project(
      suite.hosts,
      suite.repo.path,
    );
    const first = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    const live = (await suite.stack.waitFor(first.id, ended)).releaseName!;

    // A deployment claimed by a process that then dies between the two switches.
    const [row] = await suite.database.query<{ id: string; number: number }>(
      `insert into deployments (id, project_id, environment_id, kind, status, ref, commit_hash, requested_by_name,
                                source, runner_id, runner_seen_at, created_at, queued_at, started_at)
       values (gen_random_uuid(), $1, $2, 'deploy', 'running', 'main', $3, 'Ada', 'test', 'dead-process',
               now(), now(), now(), now())
       returning id, number`,
      [project.id, environment.id, suite.repo.commits[0]],
    );
    const plan = makePlan(
      {
        repository: suite.repo.path,
        commit: suite.repo.commits[0]!,
        servers: servers.map(planServer),
        privateKey: suite.hosts.clientPrivateKey,
      },
      { releaseName: `29990101000000-${String(row!.number).padStart(10, '0')}` },
    );
    await suite.database.query(
      'update deployments set release_name = $2, activation_started_at = now() where id = $1',
      [row!.id, plan.releaseName],
    );
    const [web1, web2] = servers.sort((a, b) => a.name.localeCompare(b.name));
    await killBetweenSwitches(plan, web2!.id);
    expect(await currentRelease(web1!.deployPath)).toBe(plan.releaseName);
    expect(await currentRelease(web2!.deployPath)).toBe(live);

    // The reaper's schedule, as the running service has it: a pass every second.
    const reaper = setInterval(() => void suite.stack.reaper.reap(), 1000);
    const reaped = await suite.stack.waitFor(row!.id, ended, 20_000).finally(() => clearInterval(reaper));
    expect(reaped.status).toBe('failed');
    expect(reaped.failureCode).toBe('interrupted');
    expect(reaped.failureReason).toContain('they were switched back');
    expect(reaped.failureReason).toContain(`web-1: ${live}`);
    expect(reaped.failureReason).toContain(`web-2: ${live}`);
    for (const path of deployPaths) {
      expect(await currentRelease(path)).toBe(live);
      expect(await releasesOn(path)).not.toContain(plan.releaseName);
    }

    const next = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    expect((await suite.stack.waitFor(next.id, ended)).status).toBe('finished');
  });

  it('sends a fresh job for a queued deployment whose job is gone, and it runs', async () => {
    const { project, environment } = await suite.stack.project(suite.hosts, suite.repo.path, { servers: 1 });
    // Queued a minute ago, its job lost (failed for good while the suite.database was away, say).
    const [row] = await suite.database.query<{ id: string }>(
      `insert into deployments (id, project_id, environment_id, kind, status, ref, commit_hash, requested_by_name,
                                source, created_at, queued_at)
       values (gen_random_uuid(), $1, $2, 'deploy', 'queued', 'main', $3, 'Ada', 'test', now(), now() - interval '1 minute')
       returning id`,
      [project.id, environment.id, suite.repo.commits[1]],
    );
    await suite.stack.reaper.reap();
    const done = await suite.stack.waitFor(row!.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
  });
});
