import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentRunner } from '../../src/engine/deployment-runner.js';
import { startGuardedProxy } from '../../src/net/guarded-proxy.js';
import { createOutboundGuard, isOutboundRefusal } from '../../src/net/outbound-guard.js';
import { makePlan } from '../harness/deploy-fixtures.js';
import { RecordingObserver } from '../harness/recording-observer.js';

const run = promisify(execFile);

/** A local server that counts what reaches it (and can redirect elsewhere). */
async function listen(host: string, handler: (path: string) => { status: number; location?: string }) {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? '');
    const answer = handler(request.url ?? '/');
    response.writeHead(answer.status, answer.location ? { location: answer.location } : {});
    response.end('internal secret body');
  });
  await new Promise<void>((done) => server.listen(0, host, done));
  const { port } = server.address() as AddressInfo;
  return { port, hits, close: () => new Promise<void>((done) => server.close(() => done())) };
}

const refusedBy = async (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

/** Issue 14, item 4: every address form of an internal target is refused at connect time. */
describe('the outbound target guard', () => {
  let v4: Awaited<ReturnType<typeof listen>>;
  let v6: Awaited<ReturnType<typeof listen>>;
  let redirector: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    v4 = await listen('127.0.0.1', () => ({ status: 200 }));
    v6 = await listen('::1', () => ({ status: 200 }));
    redirector = await listen('127.0.0.2', () => ({
      status: 302,
      location: `http://127.0.0.1:${v4.port}/after-redirect`,
    }));
  });
  afterAll(async () => {
    await v4?.close();
    await v6?.close();
    await redirector?.close();
  });

  it('refuses loopback, link-local, private, unique-local, multicast and unspecified, in every spelling', async () => {
    const guard = createOutboundGuard();
    const urls = [
      `http://127.0.0.1:${v4.port}/`,
      `http://localhost:${v4.port}/`,
      `http://[::1]:${v6.port}/`,
      `http://0x7f000001:${v4.port}/`,
      `http://2130706433:${v4.port}/`,
      `http://0:${v4.port}/`,
      `http://0.0.0.0:${v4.port}/`,
      `http://[::ffff:127.0.0.1]:${v4.port}/`,
      `http://[::ffff:7f00:1]:${v4.port}/`,
      `http://[::]:${v6.port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://172.16.0.1/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://224.0.0.1/',
      'http://[ff02::1]/',
      'http://[64:ff9b::7f00:1]/',
      `https://127.0.0.1:${v4.port}/`,
    ];
    for (const url of urls) {
      const error = await refusedBy(guard.fetch(url, { signal: AbortSignal.timeout(5000) }));
      expect(isOutboundRefusal(error), `${url}: ${String(error)}`).toBe(true);
      expect(String((error as Error).message)).toMatch(/refused to call .*: (a|an|the) /);
      await expect(guard.checkUrl(url), url).rejects.toThrow(/refused to call/);
    }
    expect(v4.hits).toEqual([]);
    expect(v6.hits).toEqual([]);
    await guard.close();
  });

  it('refuses a redirect to an internal address', async () => {
    // The first hop is allowed (an operator's range), the redirect's target is not.
    const guard = createOutboundGuard({ allow: ['127.0.0.2/32'] });
    const error = await refusedBy(guard.fetch(`http://127.0.0.2:${redirector.port}/start`));
    expect(isOutboundRefusal(error), String(error)).toBe(true);
    expect(redirector.hits).toEqual(['/start']);
    expect(v4.hits).toEqual([]);
    await guard.close();
  });

  it('lets SLIPWAY_ALLOW_PRIVATE_TARGETS ranges through, and only those', async () => {
    const guard = createOutboundGuard({ allow: ['127.0.0.0/8', '::1/128'] });
    expect((await guard.fetch(`http://127.0.0.1:${v4.port}/ok`)).status).toBe(200);
    expect((await guard.fetch(`http://localhost:${v4.port}/by-name`)).status).toBe(200);
    expect((await guard.fetch(`http://[::1]:${v6.port}/v6`)).status).toBe(200);
    // Followed redirects are checked too, and this one stays inside the allowed range.
    expect((await guard.fetch(`http://127.0.0.2:${redirector.port}/start`)).status).toBe(200);
    expect(v4.hits).toEqual(['/ok', '/by-name', '/after-redirect']);
    expect(isOutboundRefusal(await refusedBy(guard.fetch('http://10.0.0.1/')))).toBe(true);
    expect(guard.refusal('8.8.8.8')).toBeNull();
    expect(guard.refusal('2606:4700::1111')).toBeNull();
    await guard.close();
  });

  it('guards git over http through the loopback proxy: refused targets never see a request', async () => {
    const strict = createOutboundGuard();
    const proxy = await startGuardedProxy(strict);
    const before = v4.hits.length;
    const lsRemote = (url: string) =>
      run('git', ['-c', `http.proxy=${proxy.url}`, 'ls-remote', url], {
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', NO_PROXY: '', no_proxy: '' },
        timeout: 20_000,
      }).then(
        () => 'ok',
        (error: { stderr?: string }) => error.stderr ?? 'failed',
      );
    for (const url of [
      `http://127.0.0.1:${v4.port}/repo.git`,
      `http://localhost:${v4.port}/repo.git`,
      `https://localhost:${v4.port}/repo.git`,
    ]) {
      const outcome = await lsRemote(url);
      expect(outcome, url).not.toBe('ok');
    }
    expect(v4.hits.slice(before)).toEqual([]);
    // With the range allowed, the same proxy lets git through (the stand-in is no git server).
    const open = createOutboundGuard({ allow: ['127.0.0.0/8'] });
    const openProxy = await startGuardedProxy(open);
    await run(
      'git',
      ['-c', `http.proxy=${openProxy.url}`, 'ls-remote', `http://localhost:${v4.port}/r.git`],
      {
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      },
    ).catch(() => undefined);
    expect(v4.hits.slice(before)[0]).toMatch(/^\/r\.git\/info\/refs/);
    await openProxy.close();
    await open.close();
    await proxy.close();
    await strict.close();
  });

  it("the engine's clone on the Slipway host (local transport) goes through the guard", async () => {
    const guard = createOutboundGuard();
    const dir = await mkdtemp(join(tmpdir(), 'slipway-guarded-clone-'));
    const before = v4.hits.length;
    try {
      const plan = makePlan(
        {
          repository: `http://localhost:${v4.port}/repo.git`,
          commit: 'a'.repeat(40),
          servers: [
            {
              id: 'local-1',
              name: 'local-1',
              host: 'localhost',
              port: 22,
              user: 'ignored',
              deployPath: join(dir, 'app'),
              transport: 'local',
            },
          ],
          privateKey: '',
        },
        { gitProxy: await guard.gitProxy() },
      );
      const result = await new DeploymentRunner().deploy(plan, new RecordingObserver());
      expect(result.status).toBe('failed');
      expect(v4.hits.slice(before)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await guard.close();
    }
  }, 60_000);
});
