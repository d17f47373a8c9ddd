/**
 * Deploy benchmark of the product: the running Slipway service (a child process, as `npm start`
 * runs it, on a scratch database of the PostgreSQL at 127.0.0.1:5432) deploys the fixture
 * repository to N = 1, 10 and 20 loopback OpenSSH hosts — REST request → `finished`, through the
 * real queue, database and step records — against a floor written here in bash (deploy-floor.ts:
 * one fresh `ssh` per host, all in parallel, one remote command doing the same work). The two
 * alternate within one run. Three cases:
 *
 * - first:    fresh deploy paths (bare cache created, full fetch of the commit);
 * - steady:   one new commit on `main`, deployed on top of earlier releases;
 * - rollback: back to the release before the live one.
 *
 * Then the engine alone (DeploymentRunner in this process, first deploys) against the same floor,
 * and the stages of Slipway's steady N=20 deploys, from its own records.
 *
 * Run: npm run bench:deploy   (BENCH_REPS=5 by default; BENCH_SIZES=1,10,20 by default;
 * BENCH_SLIPWAY_ROOT=<checkout> runs the service from another checkout, to measure a "before";
 * BENCH_DATABASE_URL picks the server; BENCH_CPU_PROF=<dir> profiles the service)
 * The last line reads: deploy e2e N=20 steady slipway=<s>s floor=<s>s ratio=<r>
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { notificationSenders } from '../../adapters/index.js';
import { buildAdminServices } from '../../src/app/services.js';
import { loadConfig } from '../../src/config.js';
import type { Actor } from '../../src/core/access/index.js';
import { SECRET_PURPOSE, SecretBox } from '../../src/core/secrets/index.js';
import { openOrm } from '../../src/db/orm.js';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import { formatReleaseName } from '../../src/engine/release-name.js';
import { createLogger } from '../../src/logger.js';
import { createOutboundGuard } from '../../src/net/outbound-guard.js';
import { API_SCOPES } from '../../src/vocabulary.js';
import { currentRelease, makePlan } from '../harness/deploy-fixtures.js';
import { createFixtureRepository } from '../harness/git-fixture.js';
import { runCommand } from '../harness/run-command.js';
import { startSshHosts } from '../harness/sshd.js';
import { freePort, waitForStatus } from '../support/service-process.js';
import { machineCpuMs, processCpuMs } from './cpu-time.js';
import {
  type FloorDeploy,
  type FloorHost,
  floorDeployScript,
  floorRollbackScript,
  runFloor,
} from './deploy-floor.js';
import { startService } from './service-under-test.js';

const SIZES = (process.env.BENCH_SIZES ?? '1,10,20').split(',').map(Number);
const LARGEST = Math.max(...SIZES);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const KEEP = 20;
const LINKED = 'storage';
const ENV_FILE = 'APP_ENV=production\nAPP_KEY=base64:YmVuY2htYXJr\n';
const INSTALL = 'test -f VERSION';
const BENCH_ADMIN = 'web:local:bench';
const ACTOR: Actor = { memberId: null, name: 'bench', source: 'cli' };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const spread = (values: number[]) => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}s`;

interface Timed {
  id: string;
  requestedAt: number;
  observedAt: number;
}

async function main(): Promise<void> {
  const ssh = await startSshHosts(Math.max(...SIZES));
  const repo = await createFixtureRepository({ owner: ssh.user });
  // The fixture repository belongs to the SSH login user: let this process's git (and the
  // service's) read it too.
  process.env.GIT_CONFIG_GLOBAL = join(repo.path, '..', 'gitconfig');
  await writeFile(process.env.GIT_CONFIG_GLOBAL, '[safe]\n\tdirectory = *\n');
  const workDir = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `slipway_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const secretKey = randomBytes(32).toString('base64');
  const port = await freePort();
  const service = startService({
    root: process.env.BENCH_SLIPWAY_ROOT,
    env: {
      DATABASE_URL: databaseUrl,
      SLIPWAY_SECRET_KEY: secretKey,
      PORT: String(port),
      GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL ?? '',
      SLIPWAY_ADMINS: BENCH_ADMIN,
      LOG_LEVEL: 'warn',
      ...(process.env.BENCH_CPU_PROF
        ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}` }
        : {}),
    },
  });
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', () => undefined);
  let orm: Awaited<ReturnType<typeof openOrm>> | undefined;
  const e2e: string[] = [];
  const engine: string[] = [];
  let firstStageTable: string[] = [];
  let stageTable: string[] = [];
  let rollbackStageTable: string[] = [];
  const cpuLines: string[] = [];
  try {
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, 120_000, service);
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      SLIPWAY_SECRET_KEY: secretKey,
      SLIPWAY_ADMINS: BENCH_ADMIN,
    });
    const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });
    orm = await openOrm(databaseUrl, { poolMax: 2 });
    const secrets = SecretBox.fromBase64(secretKey);
    const services = buildAdminServices({
      config,
      logger,
      orm,
      secrets,
      senders: notificationSenders(config),
      outbound: createOutboundGuard({ allow: config.SLIPWAY_ALLOW_PRIVATE_TARGETS }),
    });
    const [platform, workspace, userId] = BENCH_ADMIN.split(':') as [string, string, string];
    const { token } = await services.tokens.create(ACTOR, {
      member: { identity: { platform: platform as 'web', workspace, userId, displayName: 'bench' } },
      name: 'bench',
      scopes: [...API_SCOPES],
      expiresAt: null,
    });
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return (JSON.parse(text) as { deployment: { id: string } }).deployment;
    };

    /** A project on the first `size` hosts, deploying into `<host>/deploy/<name>`. */
    const createProject = async (name: string, size: number) => {
      const em = orm!.em.fork() as EntityManager;
      const project = await services.setup.createProject(em, ACTOR, {
        name,
        repository: repo.path,
        installCommand: INSTALL,
        releasesToKeep: KEEP,
      });
      project.sshPrivateKey = secrets.seal(ssh.clientPrivateKey, SECRET_PURPOSE.projectSshKey);
      await em.flush();
      const servers = [];
      for (const host of ssh.hosts.slice(0, size)) {
        const plan = host.server({ subPath: name });
        servers.push(
          await services.setup.addServer(em, ACTOR, project, {
            name: `web-${String(host.index + 1).padStart(2, '0')}`,
            host: plan.host,
            port: plan.port,
            connectAs: plan.user,
            deployPath: plan.deployPath,
          }),
        );
      }
      // Host keys pinned as after a first contact: a steady fleet is a known one.
      for (const [index, server] of servers.entries())
        server.hostKeyFingerprint = ssh.hosts[index]!.hostKeyFingerprint;
      await services.setup.createEnvironment(em, ACTOR, project, {
        name: 'production',
        tier: 'production',
        branch: 'main',
        servers,
      });
      await services.setup.addLinkedFolder(em, ACTOR, project, { from: LINKED, to: LINKED });
      await services.setup.setEnvironmentFile(em, ACTOR, project, ENV_FILE);
      await em.flush();
    };
    const floorHosts = (name: string, size: number): FloorHost[] =>
      ssh.hosts.slice(0, size).map((host) => ({ port: host.port, deployPath: join(host.deployPath, name) }));

    const awaitEnd = async (id: string, requestedAt: number): Promise<Timed> => {
      for (;;) {
        const { rows } = await db.query<{ status: string; failure_reason: string | null }>(
          'select status, failure_reason from deployments where id = $1',
          [id],
        );
        const status = rows[0]?.status;
        if (status === 'finished') return { id, requestedAt, observedAt: Date.now() };
        if (status && !['queued', 'running', 'awaiting_approval'].includes(status))
          throw new Error(`deployment ${id} ${status}: ${rows[0]?.failure_reason}`);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    };
    /** CI reports the commit green, as it would before anyone deploys it: production's test gate passes. */
    const green = (project: string, sha: string) =>
      api('POST', `/projects/${project}/commits/${sha}/statuses`, { state: 'success', context: 'ci' });
    const slipwayDeploy = async (project: string) => {
      const requestedAt = Date.now();
      const { id } = await api('POST', `/projects/${project}/deployments`, { environment: 'production' });
      return awaitEnd(id, requestedAt);
    };
    const slipwayRollback = async (project: string) => {
      const requestedAt = Date.now();
      const { id } = await api('POST', `/projects/${project}/environments/production/rollback`);
      return awaitEnd(id, requestedAt);
    };
    const seconds = (timed: Timed) => (timed.observedAt - timed.requestedAt) / 1000;

    const pusher = await newCommitPusher(repo.path, ssh.user, workDir);
    /** The branch's head: what a deploy of `main` ships (steady runs push new commits). */
    let head = repo.commits.at(-1)!;
    let floorSequence = 0;
    const floorDeploy = (commit: string): FloorDeploy => ({
      repository: repo.path,
      commit,
      release: formatReleaseName(new Date(), `floor${String(++floorSequence).padStart(6, '0')}`),
      linked: LINKED,
      envFile: ENV_FILE,
      installCommand: INSTALL,
      keep: KEEP,
    });
    const firstLargest: Timed[] = [];
    const steadyLargest: Timed[] = [];
    const rollbackLargest: Timed[] = [];

    console.log(
      `deploy benchmark through the running service: ${REPS} repetitions per case, medians (min–max)`,
    );
    for (const size of SIZES) {
      type Kind = 'first' | 'steady' | 'rollback';
      const cpuRows = () => ({ slipway: [] as number[], floor: [] as number[], service: [] as number[] });
      const cpus: Record<Kind, ReturnType<typeof cpuRows>> = {
        first: cpuRows(),
        steady: cpuRows(),
        rollback: cpuRows(),
      };
      const results: Record<'first' | 'steady' | 'rollback', { slipway: number[]; floor: number[] }> = {
        first: { slipway: [], floor: [] },
        steady: { slipway: [], floor: [] },
        rollback: { slipway: [], floor: [] },
      };
      // Alternate, and swap who goes first every repetition, so drift on the machine hits both alike.
      const pair = async (
        kind: Kind,
        rep: number,
        slipway: () => Promise<number>,
        floor: () => Promise<number>,
      ) => {
        const cpu = cpus[kind];
        const cpuOf = async (work: () => Promise<number>, into: number[], serviceInto?: number[]) => {
          const machine = await machineCpuMs();
          const own = await processCpuMs(service.child.pid!);
          const seconds = await work();
          into.push((await machineCpuMs()) - machine);
          serviceInto?.push((await processCpuMs(service.child.pid!)) - own);
          return seconds;
        };
        const timedSlipway = () => cpuOf(slipway, cpu.slipway, cpu.service);
        const timedFloor = () => cpuOf(floor, cpu.floor);
        if (rep % 2 === 0) return { s: await timedSlipway(), f: await timedFloor() };
        const f = await timedFloor();
        return { s: await timedSlipway(), f };
      };
      for (let rep = 0; rep < REPS; rep++) {
        const name = `first-n${size}-r${rep}`;
        await createProject(name, size);
        const commit = head;
        await green(name, commit);
        const { s, f } = await pair(
          'first',
          rep,
          async () => {
            const timed = await slipwayDeploy(name);
            if (size === LARGEST) firstLargest.push(timed);
            return seconds(timed);
          },
          () =>
            runFloor(
              ssh,
              ssh.user,
              floorHosts(`floor-${name}`, size),
              (h) => floorDeployScript(h, floorDeploy(commit)),
              workDir,
            ),
        );
        results.first.slipway.push(s);
        results.first.floor.push(f);
        console.log(`  N=${size} first    rep ${rep + 1}: slipway ${s.toFixed(3)}s floor ${f.toFixed(3)}s`);
      }

      const steady = `steady-n${size}`;
      await createProject(steady, size);
      await green(steady, head);
      const steadyFloor = floorHosts(`floor-${steady}`, size);
      // Warm-up, untimed: both have a cache and a live release.
      await slipwayDeploy(steady);
      await runFloor(ssh, ssh.user, steadyFloor, (h) => floorDeployScript(h, floorDeploy(head)), workDir);
      for (let rep = 0; rep < REPS; rep++) {
        const commit = await pusher.push(`steady ${size} ${rep}`);
        head = commit;
        await green(steady, commit);
        let timed: Timed | undefined;
        const release = floorDeploy(commit);
        const { s, f } = await pair(
          'steady',
          rep,
          async () => {
            timed = await slipwayDeploy(steady);
            return seconds(timed);
          },
          () => runFloor(ssh, ssh.user, steadyFloor, (h) => floorDeployScript(h, release), workDir),
        );
        if (size === LARGEST && timed) steadyLargest.push(timed);
        for (const host of steadyFloor) {
          if ((await currentRelease(host.deployPath)) !== release.release)
            throw new Error('the floor did not activate');
        }
        results.steady.slipway.push(s);
        results.steady.floor.push(f);
        console.log(`  N=${size} steady   rep ${rep + 1}: slipway ${s.toFixed(3)}s floor ${f.toFixed(3)}s`);
      }
      for (let rep = 0; rep < REPS; rep++) {
        const { s, f } = await pair(
          'rollback',
          rep,
          async () => {
            const timed = await slipwayRollback(steady);
            if (size === LARGEST) rollbackLargest.push(timed);
            return seconds(timed);
          },
          () => runFloor(ssh, ssh.user, steadyFloor, floorRollbackScript, workDir),
        );
        results.rollback.slipway.push(s);
        results.rollback.floor.push(f);
        console.log(`  N=${size} rollback rep ${rep + 1}: slipway ${s.toFixed(3)}s floor ${f.toFixed(3)}s`);
      }
      for (const kind of ['first', 'rollback', 'steady'] as const) {
        const { slipway, floor } = results[kind];
        const ms = median(slipway);
        const mf = median(floor);
        e2e.push(
          `deploy e2e N=${size} ${kind} slipway=${ms.toFixed(3)}s floor=${mf.toFixed(3)}s ratio=${(ms / mf).toFixed(2)}` +
            `  (slipway ${spread(slipway)}, floor ${spread(floor)})`,
        );
        const cpu = cpus[kind];
        cpuLines.push(
          `cpu N=${size} ${kind}: machine slipway=${median(cpu.slipway).toFixed(0)}ms floor=${median(cpu.floor).toFixed(0)}ms; ` +
            `the service's own ${median(cpu.service).toFixed(0)}ms`,
        );
      }
    }
    firstStageTable = await stages(db, firstLargest);
    stageTable = await stages(db, steadyLargest);
    rollbackStageTable = await rollbackStages(db, rollbackLargest);

    // The engine alone, in this process, first deploys: the figures of the previous benchmark.
    const runner = new DeploymentRunner();
    for (const size of SIZES) {
      const slipway: number[] = [];
      const floor: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        const servers = ssh.hosts
          .slice(0, size)
          .map((host) => host.server({ subPath: `engine-n${size}-r${rep}` }));
        const plan = makePlan(
          { repository: repo.path, commit: repo.commits.at(-1)!, servers, privateKey: ssh.clientPrivateKey },
          {
            linkedFolders: [{ from: LINKED, to: LINKED }],
            envFile: ENV_FILE,
            installCommand: INSTALL,
            concurrency: size,
          },
        );
        const started = performance.now();
        const result = await runner.deploy(plan, {
          onStepStarted() {},
          onStepFinished() {},
          onHostKeyLearned() {},
        });
        slipway.push((performance.now() - started) / 1000);
        if (result.status !== 'finished') throw new Error(`engine deploy failed: ${result.failure?.message}`);
        floor.push(
          await runFloor(
            ssh,
            ssh.user,
            floorHosts(`floor-engine-n${size}-r${rep}`, size),
            (h) => floorDeployScript(h, floorDeploy(repo.commits.at(-1)!)),
            workDir,
          ),
        );
      }
      const s = median(slipway);
      const f = median(floor);
      engine.push(
        `deploy engine N=${size} first engine=${s.toFixed(3)}s floor=${f.toFixed(3)}s ratio=${(s / f).toFixed(2)}  (engine ${spread(slipway)}, floor ${spread(floor)})`,
      );
    }
  } catch (error) {
    console.error(service.output().slice(-4000));
    throw error;
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
    await orm?.close(true);
    await db.end();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    await ssh.stopAll();
    await repo.cleanup();
    await rm(workDir, { recursive: true, force: true });
  }
  console.log('\nthe engine alone (in-process DeploymentRunner, first deploys), against the same floor:');
  for (const line of engine) console.log(line);
  console.log(`\nstages of the first N=${LARGEST} deploys through the service (p50, ms):`);
  for (const line of firstStageTable) console.log(line);
  console.log(`\nstages of the steady N=${LARGEST} deploys through the service (p50, ms):`);
  for (const line of stageTable) console.log(line);
  console.log(`\nstages of the N=${LARGEST} rollbacks through the service (p50, ms):`);
  for (const line of rollbackStageTable) console.log(line);
  console.log('\nCPU time per run (p50; the whole machine, from /proc/stat, and the service process alone):');
  for (const line of cpuLines) console.log(line);
  console.log('\nthrough the running service (REST request → finished):');
  for (const line of e2e) console.log(line);
}

/** Pushes one new commit to the fixture repository's `main`; returns its sha. */
async function newCommitPusher(bare: string, owner: string, workDir: string) {
  const work = join(workDir, 'pusher');
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Bench',
    GIT_AUTHOR_EMAIL: 'bench@example.test',
    GIT_COMMITTER_NAME: 'Bench',
    GIT_COMMITTER_EMAIL: 'bench@example.test',
  };
  await runCommand('git', ['clone', '--quiet', bare, work], { env });
  let count = 0;
  return {
    async push(message: string): Promise<string> {
      count++;
      await runCommand('bash', ['-c', `printf '%s\\n' ${count} > BUILD`], { cwd: work });
      await runCommand('git', ['add', 'BUILD'], { cwd: work, env });
      await runCommand('git', ['commit', '--quiet', '-m', message], { cwd: work, env });
      await runCommand('git', ['push', '--quiet', 'origin', 'HEAD:main'], { cwd: work, env });
      if (process.getuid?.() === 0) await runCommand('chown', ['-R', owner, bare]);
      return (await runCommand('git', ['rev-parse', 'HEAD'], { cwd: work, env })).trim();
    },
  };
}

interface StepTimes {
  name: string;
  started_at: Date | null;
  finished_at: Date | null;
}

const at = (value: Date | null | undefined) => (value ? value.getTime() : Number.NaN);

function stageRows(): { add(stage: string, ms: number): void; table(count: number): string[] } {
  const rows: Record<string, number[]> = {};
  return {
    add(stage, ms) {
      rows[stage] = [...(rows[stage] ?? []), ms];
    },
    table: (count) => [
      `| stage (p50 of ${count}) | ms |`,
      '|---|---|',
      ...Object.entries(rows).map(([stage, values]) => `| ${stage} | ${median(values).toFixed(1)} |`),
    ],
  };
}

async function deploymentTimes(db: pg.Pool, id: string) {
  const {
    rows: [d],
  } = await db.query<{ queued_at: Date; started_at: Date }>(
    'select queued_at, started_at from deployments where id = $1',
    [id],
  );
  const { rows: steps } = await db.query<StepTimes>(
    'select name, started_at, finished_at from deployment_steps where deployment_id = $1',
    [id],
  );
  return { queuedAt: at(d!.queued_at), startedAt: at(d!.started_at), steps };
}

const finishedLast = (steps: StepTimes[]) => Math.max(...steps.map((step) => at(step.finished_at)));
const named = (steps: StepTimes[], name: string) => steps.filter((step) => step.name === name);

/**
 * The p50 stages of each deployment, from its own rows: the service's before the first connect
 * and after the last step, and between them the servers' stages that `servers` reads off the steps.
 */
async function stageTable(
  db: pg.Pool,
  deployments: Timed[],
  request: string,
  servers: (steps: StepTimes[], firstConnect: number, lastStep: number) => [string, number][],
): Promise<string[]> {
  const rows = stageRows();
  for (const timed of deployments) {
    const { queuedAt, startedAt, steps } = await deploymentTimes(db, timed.id);
    const firstConnect = Math.min(...named(steps, 'Connect').map((step) => at(step.started_at)));
    const lastStep = finishedLast(steps);
    rows.add(request, queuedAt - timed.requestedAt);
    rows.add('queue pickup', startedAt - queuedAt);
    rows.add('claim + plan', firstConnect - startedAt);
    for (const [stage, ms] of servers(steps, firstConnect, lastStep)) rows.add(stage, ms);
    rows.add('step bookkeeping after the last server ended', timed.observedAt - lastStep);
    rows.add('run (request → finished seen)', timed.observedAt - timed.requestedAt);
  }
  return rows.table(deployments.length);
}

/** A rollback's stages: connect every server, then check and switch them all. */
function rollbackStages(db: pg.Pool, rollbacks: Timed[]): Promise<string[]> {
  return stageTable(db, rollbacks, 'request (API, target, enqueue)', (steps, firstConnect, lastStep) => {
    const connected = finishedLast(named(steps, 'Connect'));
    return [
      ['connect', connected - firstConnect],
      ['check + switch', lastStep - connected],
    ];
  });
}

/** A deploy's stages, as the table has them. */
function stages(db: pg.Pool, deployments: Timed[]): Promise<string[]> {
  return stageTable(db, deployments, 'request (API, resolve ref, enqueue)', (steps, firstConnect) => {
    const prepared = finishedLast(
      steps.filter((step) => !['Activate new release', 'Purge old releases'].includes(step.name)),
    );
    const activated = finishedLast(named(steps, 'Activate new release'));
    const purged = finishedLast(named(steps, 'Purge old releases'));
    const firstActivate = Math.min(
      ...named(steps, 'Activate new release').map((step) => at(step.started_at)),
    );
    return [
      ['connect + prepare', prepared - firstConnect],
      ['barrier + activate', activated - prepared],
      ['  of which: last prepared → first activation started', firstActivate - prepared],
      ['purge', purged - activated],
    ];
  });
}

await main();
