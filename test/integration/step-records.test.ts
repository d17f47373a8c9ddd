import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { ADA, ended, type SshDeploySuite, startSshDeploySuite } from '../support/deploy-stack.js';

interface StepRow {
  server_name: string;
  position: number;
  name: string;
  status: string;
  exit_code: number | null;
  started_at: Date | null;
  finished_at: Date | null;
}

/**
 * The rows a deployment leaves in deployment_steps, through the executor and real OpenSSH: every
 * planned step has its row (written in bulk at the start), each ends with its true status, and
 * the deployment's end is written only once the rows are.
 */
describe.skipIf(skipSshSuites)('step records', () => {
  let suite: SshDeploySuite;
  beforeAll(async () => {
    suite = await startSshDeploySuite(3);
  });
  afterAll(() => suite?.stop());

  const stepsOf = (deploymentId: string) =>
    suite.database.query<StepRow>(
      `select server_name, position, name, status, exit_code, started_at, finished_at
         from deployment_steps where deployment_id = $1 order by server_name, position`,
      [deploymentId],
    );

  it('saves the skipped steps of a failed deploy, one row per planned step on every server', async () => {
    // Install fails on web-2 only: web-1 and web-3 are stopped before activation, and every
    // step after the failure (activate, purge) is skipped everywhere.
    const { project } = await suite.stack.project(suite.hosts, suite.repo.path, {
      installCommand: 'if [ "$SLIPWAY_SERVER" = web-2 ]; then sleep 0.3; exit 7; fi; sleep 5',
      envFile: 'A=1\n',
    });
    const requested = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    const done = await suite.stack.waitFor(requested.id, ended);
    expect(done.status).toBe('failed');
    expect(done.failureReason).toMatch(/Install dependencies failed on web-2 \(exit 7\)/);

    const rows = await stepsOf(done.id);
    const byServer = new Map<string, StepRow[]>();
    for (const row of rows) byServer.set(row.server_name, [...(byServer.get(row.server_name) ?? []), row]);
    expect([...byServer.keys()]).toEqual(['web-1', 'web-2', 'web-3']);
    for (const [server, steps] of byServer) {
      const planned = steps.filter((step) => step.name !== 'Remove unfinished release');
      expect(
        planned.map((step) => step.name),
        server,
      ).toEqual([
        'Connect',
        'Clone new release',
        'Link shared folders and environment file',
        'Install dependencies',
        'Activate new release',
        'Purge old releases',
      ]);
      // Positions are 1…n, in order, with no gap.
      expect(steps.map((step) => step.position)).toEqual(steps.map((_, index) => index + 1));
      const byName = new Map(steps.map((step) => [step.name, step]));
      expect(byName.get('Connect')?.status).toBe('finished');
      expect(byName.get('Activate new release')?.status).toBe('skipped');
      expect(byName.get('Purge old releases')?.status).toBe('skipped');
      expect(byName.get('Remove unfinished release')?.status).toBe('finished');
      // Nothing is left pending or running once the deployment has ended.
      expect(steps.filter((step) => step.status === 'pending' || step.status === 'running')).toEqual([]);
      for (const step of steps) expect(step.finished_at, `${server} ${step.name}`).not.toBeNull();
    }
    const web2 = new Map(byServer.get('web-2')!.map((step) => [step.name, step]));
    expect(web2.get('Install dependencies')).toMatchObject({ status: 'failed', exit_code: 7 });
    for (const server of ['web-1', 'web-3']) {
      const install = byServer.get(server)!.find((step) => step.name === 'Install dependencies')!;
      expect(install.status).toBe('cancelled');
    }
  });

  it('has every row in its final state when the deployment is marked finished', async () => {
    const { project } = await suite.stack.project(suite.hosts, suite.repo.path, { installCommand: 'true' });
    const requested = await suite.stack.deployments.requestDeploy(ADA, {
      project: project.name,
      environment: 'production',
    });
    // Read the steps in the same snapshot that first sees the deployment finished.
    for (;;) {
      const [row] = await suite.database.query<{ status: string; unfinished: number; total: number }>(
        `select d.status,
                (select count(*)::int from deployment_steps s
                  where s.deployment_id = d.id and s.status <> 'finished') as unfinished,
                (select count(*)::int from deployment_steps s where s.deployment_id = d.id) as total
           from deployments d where d.id = $1`,
        [requested.id],
      );
      if (row && row.status !== 'queued' && row.status !== 'running') {
        expect(row.status).toBe('finished');
        expect(row.total).toBe(3 * 5);
        expect(row.unfinished).toBe(0);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
});
