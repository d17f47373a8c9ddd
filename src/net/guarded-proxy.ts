import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { OutboundGuard } from './outbound-guard.js';

/**
 * An HTTP proxy on loopback that applies the outbound guard to programs Slipway runs, which
 * cannot take a guarded fetch: git. `git -c http.proxy=<url>` sends every http(s) connection —
 * the first and each one a redirect leads to — through here: CONNECT tunnels for https,
 * absolute-form requests for http. Each target is resolved with the guard's lookup and connected
 * to by the checked address, so what git reaches is what was checked (no rebinding gap).
 */
export interface GuardedProxy {
  /** `http://127.0.0.1:<port>`, for git's http.proxy. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startGuardedProxy(guard: OutboundGuard): Promise<GuardedProxy> {
  const resolve = (host: string): Promise<{ address: string; family: number }> =>
    new Promise((done, fail) => {
      const bare = host.startsWith('[') ? host.slice(1, -1) : host;
      if (isIP(bare)) {
        const why = guard.refusal(bare);
        return why ? fail(new Error(`refused ${bare}: ${why}`)) : done({ address: bare, family: isIP(bare) });
      }
      guard.lookup(bare, {}, (error, address, family) => {
        if (error || typeof address !== 'string') return fail(error ?? new Error(`${bare} has no address`));
        done({ address, family: family ?? 4 });
      });
    });

  const sockets = new Set<Socket | Duplex>();
  const server: Server = createServer((request, response) => {
    // http:// remotes: the request line holds the absolute URL.
    const target = URL.parse(request.url ?? '');
    if (target?.protocol !== 'http:') {
      response.writeHead(400).end('absolute http:// URL expected\n');
      return;
    }
    resolve(target.hostname).then(
      ({ address }) => {
        const upstream = httpRequest(
          {
            host: address,
            port: Number(target.port || 80),
            method: request.method,
            path: `${target.pathname}${target.search}`,
            headers: withoutProxyHeaders(request),
            setHost: false,
          },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        upstream.on('error', () => response.headersSent || response.writeHead(502).end());
        request.pipe(upstream);
      },
      (error: Error) => response.writeHead(403, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });

  server.on('connect', (request: IncomingMessage, client: Duplex, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(request.url ?? '');
    if (!match) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    resolve(match[1]!).then(
      ({ address }) => {
        const upstream = connect({ host: address, port: Number(match[2]) }, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          if (head.length) upstream.write(head);
          upstream.pipe(client);
          client.pipe(upstream);
        });
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
      },
      () => client.end('HTTP/1.1 403 Forbidden\r\n\r\n'),
    );
  });

  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  // A helper of whoever started it: it must not keep a process alive on its own.
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

function withoutProxyHeaders(request: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'proxy-connection' || name === 'proxy-authorization') continue;
    headers[name] = value;
  }
  return headers;
}
