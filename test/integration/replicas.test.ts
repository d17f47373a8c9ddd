import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatIdentityRef } from '../../src/core/access/index.js';
import { releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ADA, ended, startDeployStack, trustFixtureRepository } from '../support/deploy-stack.js';
import { freePort, runSlipway, type ServiceProcess, waitForStatus } from '../support/service-process.js';

interface Replica {
  process: ServiceProcess;
  port: number;
  instanceId: string;
}

const identity = (user: string): ChatIdentityRef => ({
  platform: 'web',
  workspace: 'local',
  userId: user,
  displayName: user,
});

/**
 * THREE replicas of the running service (child processes) started at once on an empty database,
 * then, across them: deploys run once each, heartbeats alert and recover once each, approvals
 * clicked on two replicas at once count once, and a kill -9 of the replica running a deploy
 * frees the slot within 5 s.
 */
describe.skipIf(skipSshSuites)('three replicas', () => {
  let database: TestDatabase;
  let hosts: SshHosts;
  let repo: FixtureRepository;
  let stack: Awaited<ReturnType<typeof startDeployStack>>;
  const replicas: Replica[] = [];
  const secretKey = randomBytes(32).toString('base64');
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    database = await createTestDatabase({ empty: true });
    hosts = await startSshHosts(3);
    repo = await createFixtureRepository({ owner: hosts.user });
    await trustFixtureRepository(repo.path);
  }, 120_000);
  afterAll(async () => {
    for (const replica of replicas) replica.process.child.kill('SIGKILL');
    await stack?.stop();
    await hosts?.stopAll();
    await repo?.cleanup();
    await database?.drop();
  });

  const api = async (replica: Replica, user: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${replica.port}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens.get(user)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json()) as { deployment?: { id: string; status: string } },
    };
  };
  const deploy = async (replica: Replica, project: string, user = 'ada') => {
    const answer = await api(replica, user, 'POST', `/projects/${project}/deployments`, {
      environment: 'production',
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body.deployment!;
  };
  const count = async (sql: string, params: unknown[] = []) =>
    (await database.query<{ n: number }>(sql, params))[0]!.n;

  it('all three start at once on an empty database: one migrates, the others wait and find nothing to do', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const processes = ports.map((port) =>
      runSlipway(['start'], {
        DATABASE_URL: database.url,
        SLIPWAY_SECRET_KEY: secretKey,
        PORT: String(port),
        GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL ?? '',
        SLIPWAY_ADMINS: 'web:local:ada',
        SLIPWAY_HEARTBEAT_SWEEP_SECONDS: '2',
        SLIPWAY_SSH_CONNECT_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'info',
      }),
    );
    await Promise.all(
      processes.map((child, index) =>
        waitForStatus(`http://127.0.0.1:${ports[index]}/readyz`, 200, 90_000, child),
      ),
    );
    for (const [index, child] of processes.entries()) {
      const instanceId = /"instanceId":"([0-9a-f-]+)"/.exec(child.output())?.[1];
      expect(instanceId, child.output()).toBeDefined();
      replicas.push({ process: child, port: ports[index]!, instanceId: instanceId! });
      expect(child.output()).not.toMatch(/duplicate key/);
    }
    const migrated = processes.filter((child) => child.output().includes('"msg":"migrations applied"'));
    const upToDate = processes.filter((child) => child.output().includes('database schema up to date'));
    expect(migrated).toHaveLength(1);
    expect(upToDate).toHaveLength(2);

    // This process only sets up and looks: the replicas run every job.
    stack = await startDeployStack(database, { work: false, secretKey });
    for (const user of ['ada', 'bob', 'cy']) {
      const { token } = await stack.services.tokens.create(ADA, {
        member: { identity: identity(user) },
        name: user,
        scopes: ['deployments:create'],
        expiresAt: null,
      });
      tokens.set(user, token);
    }
    // Ada is a global admin (SLIPWAY_ADMINS), as the replicas would make her on first contact.
    await database.query(
      `update members m set global_role = 'admin' from chat_identities c
        where c.member_id = m.id and c.platform = 'web' and c.user_id = 'ada'`,
    );
  }, 120_000);

  it('runs 30 deploys, each exactly once, whichever replica took it', async () => {
    const projects = [];
    for (let i = 0; i < 10; i++) {
      // Spread over the three hosts: ten connections at once to one sshd meet its MaxStartups.
      const host = { ...hosts, hosts: [hosts.hosts[i % 3]!] };
      projects.push((await stack.project(host, repo.path, { servers: 1, name: `svc-${i}` })).project.name);
    }
    const ids: string[] = [];
    // Three rounds of ten at once; each round's requests spread over the three replicas.
    for (let round = 0; round < 3; round++) {
      const batch = await Promise.all(
        projects.map((project, index) => deploy(replicas[(index + round) % 3]!, project)),
      );
      for (const deployment of batch) ids.push(deployment.id);
      for (const deployment of batch) {
        const done = await stack.waitFor(deployment.id, ended);
        expect(done.status, done.failureReason ?? '').toBe('finished');
      }
    }
    expect(new Set(ids).size).toBe(30);
    // Run once: one start notice, one Connect row, one release directory per deployment.
    expect(
      await count(`select count(*)::int as n from notification_events where type = 'deployment.started'`),
    ).toBe(30);
    expect(
      await count(
        `select count(*)::int as n from deployment_steps where name = 'Connect' and deployment_id = any($1::uuid[])`,
        [ids],
      ),
    ).toBe(30);
    for (const project of projects) {
      const path = (
        await database.query<{ deploy_path: string }>(
          `select s.deploy_path from servers s join projects p on p.id = s.project_id where p.name = $1`,
          [project],
        )
      )[0]!.deploy_path;
      expect(await releasesOn(path)).toHaveLength(3);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${replicas[0]!.port}/metrics`)).text();
    expect(metrics).toMatch(
      /slipway_deployment_duration_seconds_count\{project="svc-\d",environment="production",status="finished"\} \d/,
    );
  }, 180_000);

  it('alerts each of 50 overdue heartbeats once and recovers each once, with three sweeps running', async () => {
    const { project } = await stack.project(hosts, repo.path, { servers: 1, name: 'crons' });
    await database.query(
      `insert into heartbeats (id, project_id, name, token, interval_minutes, grace_minutes, status, next_due_at, created_at, updated_at)
       select gen_random_uuid(), $1, 'job-' || i, 'replica-token-' || lpad(i::text, 8, '0'), 10, 1, 'healthy',
              now() - interval '1 minute', now(), now()
         from generate_series(1, 50) as i`,
      [project.id],
    );
    const alerts = () =>
      count(
        `select count(*)::int as n from notification_events where type = 'heartbeat.missing' and project_id = $1`,
        [project.id],
      );
    for (let i = 0; i < 100 && (await alerts()) < 50; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    // Two more sweeps of every replica: nobody alerts again.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(await alerts()).toBe(50);
    expect(
      await count(
        `select count(distinct data->'heartbeat'->>'id')::int as n from notification_events
          where type = 'heartbeat.missing' and project_id = $1`,
        [project.id],
      ),
    ).toBe(50);

    // Each job checks in once, on one replica or another; two at once for half of them.
    const pings = [];
    for (let i = 1; i <= 50; i++) {
      const token = `replica-token-${String(i).padStart(8, '0')}`;
      const targets = i % 2 ? [replicas[i % 3]!] : [replicas[0]!, replicas[1]!];
      for (const replica of targets) {
        pings.push(fetch(`http://127.0.0.1:${replica.port}/heartbeats/${token}`, { method: 'POST' }));
      }
    }
    for (const response of await Promise.all(pings)) expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(
      await count(
        `select count(*)::int as n from notification_events where type = 'heartbeat.recovered' and project_id = $1`,
        [project.id],
      ),
    ).toBe(50);
    expect(await alerts()).toBe(50);
  }, 120_000);

  it('counts an approval clicked on two replicas at once once; the second approver starts it, once', async () => {
    const { project, environment } = await stack.project(hosts, repo.path, { servers: 1, name: 'gated' });
    await database.query('update environments set approvals_required = 2 where id = $1', [environment.id]);
    for (const [user, role] of [
      ['ada', 'deployer'],
      ['bob', 'approver'],
      ['cy', 'approver'],
    ] as const) {
      await stack.services.access.assignRole(ADA, project.name, identity(user), role);
    }
    const requested = await deploy(replicas[0]!, project.name);
    expect(requested.status).toBe('awaiting_approval');
    const path = `/projects/${project.name}/deployments/${requested.id}/approve`;
    const clicks = await Promise.all([
      api(replicas[1]!, 'bob', 'POST', path),
      api(replicas[2]!, 'bob', 'POST', path),
    ]);
    expect(clicks.filter((click) => click.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(
      await count(
        `select count(*)::int as n from approvals a join approval_requests r on r.id = a.request_id
          where r.deployment_id = $1`,
        [requested.id],
      ),
    ).toBe(1);
    expect((await stack.waitFor(requested.id, () => true)).status).toBe('awaiting_approval');

    const second = await api(replicas[0]!, 'cy', 'POST', path);
    expect(second.status).toBe(200);
    const done = await stack.waitFor(requested.id, ended);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(
      await count(
        `select count(*)::int as n from deployment_steps where name = 'Connect' and deployment_id = $1`,
        [requested.id],
      ),
    ).toBe(1);
  }, 120_000);

  it('a kill -9 of the replica running a deploy frees the slot within 5 s; the next deploy runs', async () => {
    const { project } = await stack.project(hosts, repo.path, {
      servers: 1,
      name: 'killed',
      installCommand: 'sleep 30',
    });
    const doomed = await deploy(replicas[0]!, project.name);
    const running = await stack.waitFor(doomed.id, (d) => d.status === 'running' && d.runnerId !== null);
    for (let i = 0; i < 200; i++) {
      const n = await count(
        `select count(*)::int as n from deployment_steps where deployment_id = $1 and name = 'Install dependencies' and status = 'running'`,
        [doomed.id],
      );
      if (n === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const victim = replicas.find((replica) => replica.instanceId === running.runnerId);
    expect(victim, `runner ${running.runnerId}`).toBeDefined();
    const killedAt = Date.now();
    victim!.process.child.kill('SIGKILL');
    await victim!.process.exited;
    const reaped = await stack.waitFor(doomed.id, ended, 10_000);
    const freedAfter = Date.now() - killedAt;
    expect(reaped.status).toBe('failed');
    expect(reaped.failureCode).toBe('interrupted');
    expect(freedAfter).toBeLessThan(5000);

    const survivors = replicas.filter((replica) => replica !== victim);
    const project2 = await stack.reload(project);
    project2.installCommand = null;
    await stack.em().upsert(project2);
    const next = await deploy(survivors[0]!, project.name);
    const done = await stack.waitFor(next.id, ended, 30_000);
    expect(done.status, done.failureReason ?? '').toBe('finished');
    expect(survivors.map((replica) => replica.instanceId)).toContain(
      done.runnerId ?? survivors[0]!.instanceId,
    );
  }, 120_000);
});
