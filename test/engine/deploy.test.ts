import { lstat, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import type { DeploymentPlan, PlanHook, PlanServer } from '../../src/engine/plan.js';
import { currentRelease, makePlan, releasesOn } from '../harness/deploy-fixtures.js';
import { createFixtureRepository, type FixtureRepository } from '../harness/git-fixture.js';
import { RecordingObserver } from '../harness/recording-observer.js';
import { skipSshSuites } from '../harness/ssh-suite.js';
import { type SshHosts, startSshHosts } from '../harness/sshd.js';

const TIMEOUT = 60_000;

function hook(partial: Partial<PlanHook> & Pick<PlanHook, 'id' | 'script' | 'action' | 'timing'>): PlanHook {
  return { name: partial.id, runAs: null, order: 1, serverIds: null, ...partial };
}

describe.skipIf(skipSshSuites)('DeploymentRunner on three OpenSSH hosts', () => {
  let ssh: SshHosts;
  let repo: FixtureRepository;
  const runner = new DeploymentRunner();

  beforeAll(async () => {
    ssh = await startSshHosts(3);
    repo = await createFixtureRepository({ owner: ssh.user });
  }, TIMEOUT);
  afterAll(async () => {
    await ssh?.stopAll();
    await repo?.cleanup();
  });

  /** Servers whose deploy paths are a fresh folder per test. */
  const serversFor = (test: string): PlanServer[] => ssh.hosts.map((host) => host.server({ subPath: test }));
  const plan = (servers: PlanServer[], overrides: Partial<DeploymentPlan> = {}) =>
    makePlan(
      { repository: repo.path, commit: repo.commits[1]!, servers, privateKey: ssh.clientPrivateKey },
      overrides,
    );

  it(
    'deploys to every host: layout, current, linked folders, env file, hooks, barrier',
    async () => {
      const servers = serversFor('layout');
      const envFile = 'APP_ENV=production\nAPP_KEY=base64:c2VjcmV0LWtleQ==\n';
      const first = plan(servers, {
        linkedFolders: [{ from: 'storage', to: 'storage' }],
        envFile,
        installCommand: 'echo "installing in $(pwd)"; test -L storage; test -f .env',
        hooks: [
          hook({
            id: 'greet',
            script: 'echo "before clone on $SLIPWAY_SERVER"',
            action: 'clone',
            timing: 'before',
          }),
          hook({
            id: 'version',
            script: 'echo "live version $(cat VERSION)"',
            action: 'activate',
            timing: 'after',
          }),
        ],
      });
      const observer = new RecordingObserver();
      const result = await runner.deploy(first, observer);

      expect(result.failure).toBeNull();
      expect(result.status).toBe('finished');
      expect(result.activated).toBe(true);
      expect(result.observerErrors).toEqual([]);
      for (const server of servers) {
        const root = server.deployPath;
        const release = join(root, 'releases', first.releaseName);
        expect(await readlink(join(root, 'current'))).toBe(`releases/${first.releaseName}`);
        expect(await readFile(join(release, 'VERSION'), 'utf8')).toBe('2\n');
        expect((await readFile(join(release, 'REVISION'), 'utf8')).trim()).toBe(repo.commits[1]);
        // Linked folder: a symlink into shared/, seeded from the repository on the first deploy.
        expect((await lstat(join(release, 'storage'))).isSymbolicLink()).toBe(true);
        expect(await readlink(join(release, 'storage'))).toBe(join(root, 'shared', 'storage'));
        expect(await readFile(join(root, 'shared', 'storage', 'seed.txt'), 'utf8')).toBe(
          'seeded from the repository\n',
        );
        // Env file: in shared/, mode 0600, exact content, linked into the release.
        expect((await stat(join(root, 'shared', '.env'))).mode & 0o777).toBe(0o600);
        expect(await readFile(join(root, 'shared', '.env'), 'utf8')).toBe(envFile);
        expect(await readlink(join(release, '.env'))).toBe(join(root, 'shared', '.env'));

        const steps = observer.finished(server.id);
        expect(steps.map((s) => s.step.key)).toEqual([
          'connect',
          'hook:greet',
          'clone',
          'link',
          'install',
          'activate',
          'hook:version',
          'purge',
        ]);
        expect(steps.every((s) => s.outcome.status === 'finished')).toBe(true);
        const byKey = new Map(steps.map((s) => [s.step.key, s.outcome]));
        expect(byKey.get('hook:greet')?.outputTail).toBe(`before clone on ${server.name}\n`);
        expect(byKey.get('hook:version')?.outputTail).toBe('live version 2\n');
        expect(byKey.get('install')?.outputTail).toBe(
          `installing in ${join(server.deployPath, 'releases', first.releaseName)}\n`,
        );
        expect(byKey.get('install')?.exitCode).toBe(0);
        const resultServer = result.servers.find((s) => s.serverId === server.id)!;
        expect(resultServer.previousRelease).toBeNull();
        expect(resultServer.currentRelease).toBe(first.releaseName);
      }

      // Barrier: every server finished preparing before any server started activating.
      const events = observer.events;
      const firstActivate = events.findIndex((e) => e.type === 'started' && e.step.key === 'activate');
      const lastPrepare = events.findLastIndex(
        (e) => e.type === 'finished' && ['hook:greet', 'clone', 'link', 'install'].includes(e.step.key),
      );
      expect(firstActivate).toBeGreaterThan(lastPrepare);
      expect(observer.phases()).toEqual(['prepare', 'activate', 'done']);

      // A second deploy switches current, keeps shared data, reports the previous release.
      await writeFile(join(servers[0]!.deployPath, 'shared', 'storage', 'uploaded.txt'), 'user data');
      const second = plan(servers, {
        commit: repo.commits[0]!,
        linkedFolders: [{ from: 'storage', to: 'storage' }],
        envFile,
      });
      const again = await runner.deploy(second, new RecordingObserver());
      expect(again.status).toBe('finished');
      for (const server of servers) {
        expect(await currentRelease(server.deployPath)).toBe(second.releaseName);
        expect(await readFile(join(server.deployPath, 'current', 'VERSION'), 'utf8')).toBe('1\n');
        expect(again.servers.find((s) => s.serverId === server.id)?.previousRelease).toBe(first.releaseName);
      }
      expect(await readFile(join(servers[0]!.deployPath, 'current', 'storage', 'uploaded.txt'), 'utf8')).toBe(
        'user data',
      );
    },
    TIMEOUT,
  );

  it(
    'a hook failing on one of three hosts: nobody switched, no half-built release, failure reported',
    async () => {
      const servers = serversFor('hook-failure');
      const good = plan(servers);
      expect((await runner.deploy(good, new RecordingObserver())).status).toBe('finished');

      const bad = plan(servers, {
        installCommand: 'sleep 0.2; echo installed',
        hooks: [
          hook({
            id: 'flaky',
            name: 'warm cache',
            script: 'echo "about to fail"; echo "disk full" >&2; exit 3',
            action: 'install',
            timing: 'after',
            serverIds: [servers[1]!.id],
          }),
        ],
      });
      const observer = new RecordingObserver();
      const result = await runner.deploy(bad, observer);

      expect(result.status).toBe('failed');
      expect(result.activated).toBe(false);
      expect(result.failure).toMatchObject({
        serverId: servers[1]!.id,
        serverName: servers[1]!.name,
        step: { key: 'hook:flaky', action: 'hook', hookId: 'flaky', timing: 'after' },
        exitCode: 3,
        errorCode: 'command_failed',
      });
      expect(result.failure?.outputTail).toBe('about to fail\ndisk full\n');
      expect(result.failure?.message).toContain('warm cache');
      expect(result.failure?.message).toContain(servers[1]!.name);
      for (const server of servers) {
        expect(await currentRelease(server.deployPath)).toBe(good.releaseName);
        expect(await releasesOn(server.deployPath)).toEqual([good.releaseName]);
        const steps = observer.finished(server.id);
        expect(steps.find((s) => s.step.key === 'cleanup')?.outcome.status).toBe('finished');
        expect(steps.find((s) => s.step.key === 'activate')?.outcome.status).toBe('skipped');
      }
      expect(observer.phases()).toEqual(['prepare', 'cleanup', 'done']);
    },
    TIMEOUT,
  );

  it(
    'an activation failure on one host switches every host back',
    async () => {
      const servers = serversFor('activation-failure');
      const good = plan(servers);
      await runner.deploy(good, new RecordingObserver());
      const bad = plan(servers, {
        hooks: [
          hook({
            id: 'reload',
            script: 'echo "reload failed"; exit 1',
            action: 'activate',
            timing: 'after',
            serverIds: [servers[2]!.id],
          }),
        ],
      });
      const observer = new RecordingObserver();
      const result = await runner.deploy(bad, observer);
      expect(result.status).toBe('failed');
      expect(result.activated).toBe(false);
      expect(result.failure).toMatchObject({
        serverId: servers[2]!.id,
        step: { key: 'hook:reload' },
        exitCode: 1,
      });
      for (const server of servers) {
        expect(await currentRelease(server.deployPath)).toBe(good.releaseName);
        expect(await releasesOn(server.deployPath)).toEqual([good.releaseName]);
        expect(observer.finished(server.id).find((s) => s.step.key === 'revert')?.outcome.status).toBe(
          'finished',
        );
        expect(result.servers.find((s) => s.serverId === server.id)?.currentRelease).toBe(good.releaseName);
      }
      expect(observer.phases()).toEqual(['prepare', 'activate', 'revert', 'done']);
    },
    TIMEOUT,
  );

  it(
    'rolls back to the previous release, or to a named one, on every host',
    async () => {
      const servers = serversFor('rollback');
      const settings = {
        privateKey: ssh.clientPrivateKey,
        concurrency: 10,
        commandTimeoutMs: 30_000,
        connectTimeoutMs: 10_000,
      };

      // With a single release there is nothing to roll back to: refused, nobody switched.
      const only = plan(servers);
      await runner.deploy(only, new RecordingObserver());
      const refused = await runner.rollback(
        { deploymentId: 'rb0', servers, ...settings },
        new RecordingObserver(),
      );
      expect(refused.status).toBe('failed');
      expect(refused.failure?.message).toContain(`no release before ${only.releaseName}`);
      for (const server of servers) expect(await currentRelease(server.deployPath)).toBe(only.releaseName);

      const newer = plan(servers, { commit: repo.commits[0]! });
      await runner.deploy(newer, new RecordingObserver());
      const observer = new RecordingObserver();
      const back = await runner.rollback({ deploymentId: 'rb1', servers, ...settings }, observer);
      expect(back.failure).toBeNull();
      expect(back.status).toBe('finished');
      for (const server of servers) {
        expect(await currentRelease(server.deployPath)).toBe(only.releaseName);
        expect(await readFile(join(server.deployPath, 'current', 'VERSION'), 'utf8')).toBe('2\n');
        const record = back.servers.find((s) => s.serverId === server.id)!;
        expect(record).toMatchObject({
          previousRelease: newer.releaseName,
          currentRelease: only.releaseName,
        });
        expect(observer.finished(server.id).map((s) => [s.step.key, s.outcome.status])).toEqual([
          ['connect', 'finished'],
          ['rollback', 'finished'],
        ]);
      }

      const forward = await runner.rollback(
        { deploymentId: 'rb2', servers, ...settings },
        new RecordingObserver(),
        newer.releaseName,
      );
      expect(forward.status).toBe('finished');
      for (const server of servers) expect(await currentRelease(server.deployPath)).toBe(newer.releaseName);

      const missing = await runner.rollback(
        { deploymentId: 'rb3', servers, ...settings },
        new RecordingObserver(),
        '20200101000000-gone',
      );
      expect(missing.status).toBe('failed');
      expect(missing.failure?.message).toContain('20200101000000-gone is not on');
      for (const server of servers) expect(await currentRelease(server.deployPath)).toBe(newer.releaseName);
    },
    TIMEOUT,
  );

  it(
    'purge keeps the N newest, and never the active release or the one before it',
    async () => {
      const servers = serversFor('purge');
      const names: string[] = [];
      for (let i = 0; i < 4; i++) {
        const next = plan(servers, { keepReleases: 2 });
        names.push(next.releaseName);
        expect((await runner.deploy(next, new RecordingObserver())).status).toBe('finished');
      }
      for (const server of servers) expect(await releasesOn(server.deployPath)).toEqual(names.slice(-2));

      // keep = 1 still keeps the release before the active one (the rollback target).
      const last = plan(servers, { keepReleases: 1 });
      const observer = new RecordingObserver();
      await runner.deploy(last, observer);
      for (const server of servers) {
        expect(await releasesOn(server.deployPath)).toEqual([names[3], last.releaseName]);
        expect(
          observer.finished(server.id).find((s) => s.step.key === 'purge')?.outcome.outputTail,
        ).toContain(`Purged ${names[2]}`);
      }
    },
    TIMEOUT,
  );

  it(
    'redacts env values and other secrets from recorded output',
    async () => {
      const servers = serversFor('redaction');
      const envFile = 'DB_PASSWORD="hunter2-very-secret"\nAPI_TOKEN=tok_live_abcdef123\nDEBUG=no\n';
      const secrets = ['extra-secret-value'];
      const observer = new RecordingObserver();
      const leaked = await runner.deploy(
        plan(servers, {
          envFile,
          secrets,
          hooks: [
            hook({
              id: 'leak',
              script: 'cat .env; echo "extra: extra-secret-value"',
              action: 'clone',
              timing: 'after',
            }),
          ],
        }),
        observer,
      );
      expect(leaked.status).toBe('finished');
      for (const server of servers) {
        const leak = observer.finished(server.id).find((s) => s.step.key === 'hook:leak')!.outcome;
        expect(leak.output).toBe(
          'DB_PASSWORD=[redacted]\nAPI_TOKEN=[redacted]\nDEBUG=no\nextra: [redacted]\n',
        );
        expect(leak.outputTail).toBe(leak.output);
        // The file on the server itself is intact.
        expect(await readFile(join(server.deployPath, 'shared', '.env'), 'utf8')).toBe(envFile);
      }

      // A failing step's tail and the failure summary are redacted too.
      const failingObserver = new RecordingObserver();
      const failed = await runner.deploy(
        plan(servers, {
          envFile,
          secrets,
          hooks: [
            hook({
              id: 'leak-and-fail',
              script: 'echo "token=$(grep API_TOKEN .env | cut -d= -f2)"; exit 9',
              action: 'install',
              timing: 'before',
              serverIds: [servers[0]!.id],
            }),
          ],
        }),
        failingObserver,
      );
      expect(failed.status).toBe('failed');
      expect(failed.failure?.outputTail).toBe('token=[redacted]\n');
      const recorded = JSON.stringify([observer.events, leaked, failingObserver.events, failed]);
      for (const secret of ['hunter2-very-secret', 'tok_live_abcdef123', 'extra-secret-value']) {
        expect(recorded).not.toContain(secret);
      }
    },
    TIMEOUT,
  );

  it(
    'runs a run-as hook through non-interactive sudo, and a sudo refusal fails the deployment',
    async () => {
      const servers = serversFor('run-as');
      const result = await runner.deploy(
        plan(servers, {
          hooks: [
            hook({ id: 'as-www', script: 'id -un', runAs: 'www-data', action: 'install', timing: 'after' }),
          ],
        }),
        new RecordingObserver(),
      );
      // No sudoers rule here (or no sudo at all): sudo -n refuses instead of waiting for a password.
      expect(result.status).toBe('failed');
      expect(result.failure?.step.key).toBe('hook:as-www');
      expect(result.failure?.exitCode).not.toBe(0);
      expect(result.failure?.outputTail).toMatch(/sudo/);
      for (const server of servers) expect(await releasesOn(server.deployPath)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'inspect reports what current points to, and which servers cannot be read',
    async () => {
      const servers = serversFor('inspect');
      const deployed = plan(servers);
      await runner.deploy(deployed, new RecordingObserver());
      const unreachable: PlanServer = { ...servers[0]!, id: 'gone', name: 'gone', port: 1 };
      const fresh = ssh.hosts[0]!.server({ subPath: 'inspect-never-deployed', id: 'fresh' });
      const report = await runner.inspect([...servers, unreachable, fresh], {
        privateKey: ssh.clientPrivateKey,
        concurrency: 4,
        commandTimeoutMs: 10_000,
        connectTimeoutMs: 5_000,
      });
      for (const server of servers) {
        expect(report.find((r) => r.serverId === server.id)).toEqual({
          serverId: server.id,
          currentRelease: deployed.releaseName,
          releases: [deployed.releaseName],
          error: null,
          errorCode: null,
        });
      }
      expect(report.find((r) => r.serverId === 'gone')).toMatchObject({
        currentRelease: null,
        errorCode: 'ssh_failed',
      });
      expect(report.find((r) => r.serverId === 'fresh')).toEqual({
        serverId: 'fresh',
        currentRelease: null,
        releases: [],
        error: null,
        errorCode: null,
      });
    },
    TIMEOUT,
  );

  it(
    'links nested folders on both sides, creating their parents, first deploy and after',
    async () => {
      const servers = serversFor('nested-links').slice(0, 1);
      const linkedFolders = [
        { from: 'public/uploads', to: 'media/uploads' },
        { from: 'storage/cache/views', to: 'views' },
      ];
      for (const deploy of [1, 2]) {
        const planned = plan(servers, { linkedFolders });
        const result = await runner.deploy(planned, new RecordingObserver());
        expect(result.status, `deploy ${deploy}: ${result.failure?.message}`).toBe('finished');
        const root = servers[0]!.deployPath;
        const release = join(root, 'releases', planned.releaseName);
        expect(await readlink(join(release, 'public', 'uploads'))).toBe(
          join(root, 'shared', 'media', 'uploads'),
        );
        expect(await readlink(join(release, 'storage', 'cache', 'views'))).toBe(
          join(root, 'shared', 'views'),
        );
        expect((await stat(join(root, 'shared', 'media', 'uploads'))).isDirectory()).toBe(true);
        // What the repository has next to a linked folder stays in the release.
        expect(await readFile(join(release, 'public', 'index.html'), 'utf8')).toBe('<h1>v2</h1>\n');
        expect(await readFile(join(release, 'storage', 'seed.txt'), 'utf8')).toBe(
          'seeded from the repository\n',
        );
      }
    },
    TIMEOUT,
  );

  it('refuses an unsafe plan before touching any server', async () => {
    const servers = serversFor('unsafe-plan');
    await expect(
      runner.deploy(
        plan(servers, { linkedFolders: [{ from: '../../etc', to: 'x' }] }),
        new RecordingObserver(),
      ),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(
      runner.deploy(plan(servers, { commit: 'main;id' }), new RecordingObserver()),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(
      runner.deploy(plan(servers, { repository: 'ext::sh -c touch% /tmp/pwned' }), new RecordingObserver()),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    const nul = plan(servers, {
      hooks: [
        hook({
          id: 'nul',
          script: 'echo a\0b',
          action: 'install',
          timing: 'after',
          serverIds: [servers[2]!.id],
        }),
      ],
    });
    await expect(runner.deploy(nul, new RecordingObserver())).rejects.toMatchObject({
      code: 'invalid_input',
    });
    for (const server of servers) expect(await releasesOn(server.deployPath)).toEqual([]);
  });
});
