import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { type GuardedProxy, startGuardedProxy } from './guarded-proxy.js';

/**
 * The outbound target guard (DESIGN.md §6): Slipway never calls an internal address on a user's
 * behalf — a webhook URL, a health-check URL, an http(s) repository — unless an operator allowed
 * that range (SLIPWAY_ALLOW_PRIVATE_TARGETS). Every connection is checked on the address it
 * actually connects to, after DNS resolution and at connect time, so a name that resolves to
 * loopback, a DNS answer that changes between a check and the request (rebinding), or a redirect
 * to an internal address is refused the same way. Below every layer: the core, the adapters and
 * the app all take it injected.
 */

/** What a caller passes around: `fetch`, guarded. Same shape as the global fetch. */
export type OutboundFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface OutboundGuard {
  /** fetch through the guard: every connection (redirects included) checked at connect time. */
  readonly fetch: OutboundFetch;
  /** A DNS lookup (node's signature) that refuses names resolving to a forbidden address. */
  readonly lookup: GuardedLookup;
  /** Why an IP address may not be called (`a loopback address`), or null when it may. */
  refusal(address: string): string | null;
  /**
   * Checks a URL ahead of time (when a channel is saved): an http(s) URL whose host is, or
   * resolves to, a forbidden address throws OutboundTargetRefused. A name that does not resolve
   * now passes: the connect-time check still applies when it is called.
   */
  checkUrl(url: string): Promise<void>;
  /**
   * The loopback proxy that applies this guard to git (`git -c http.proxy=<url>`), started on
   * first use; it never keeps the process alive by itself.
   */
  gitProxy(): Promise<string>;
  close(): Promise<void>;
}

export type GuardedLookup = (
  hostname: string,
  options: { all?: boolean; family?: number | string },
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export const OUTBOUND_REFUSED = 'ERR_OUTBOUND_TARGET_REFUSED';

/** A call Slipway refused to make: the host names an internal address. */
export class OutboundTargetRefused extends Error {
  override readonly name = 'OutboundTargetRefused';
  readonly code = OUTBOUND_REFUSED;
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      `refused to call ${host}${host === address ? '' : ` (${address})`}: ${reason}; an operator can allow the range with SLIPWAY_ALLOW_PRIVATE_TARGETS`,
    );
  }
}

export function isOutboundRefusal(error: unknown): error is OutboundTargetRefused {
  return (
    error instanceof OutboundTargetRefused ||
    (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === OUTBOUND_REFUSED)
  );
}

const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address (cloud metadata lives there)',
  uniqueLocal: 'a unique-local address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  carrierGradeNat: 'a shared (carrier-grade NAT) address',
  reserved: 'a reserved address',
};

/** The CIDRs SLIPWAY_ALLOW_PRIVATE_TARGETS allows, parsed (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`). */
export function parseAllowedRanges(list: readonly string[]): [ipaddr.IPv4 | ipaddr.IPv6, number][] {
  return list.map((entry) => {
    const text = entry.trim();
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const address = ipaddr.parse(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  });
}

export function isValidRange(entry: string): boolean {
  const text = entry.trim();
  return text.includes('/') ? ipaddr.isValidCIDR(text) : ipaddr.isValid(text);
}

/**
 * A guard with the given allowed ranges. Only global unicast addresses may be called; every
 * other range (loopback, private, link-local, unique-local, multicast, unspecified, broadcast,
 * NAT64 and 6to4 forms that embed IPv4, reserved…) is refused unless allowed. IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`) is judged as the IPv4 address it is.
 */
export function createOutboundGuard(options: { allow?: readonly string[] } = {}): OutboundGuard {
  const allowed = parseAllowedRanges(options.allow ?? []);

  const refusal = (address: string): string | null => {
    if (!ipaddr.isValid(address)) return 'not an IP address';
    const parsed = ipaddr.process(address);
    const range = parsed.range();
    if (range === 'unicast') return null;
    for (const [network, bits] of allowed) {
      if (network.kind() === parsed.kind() && parsed.match(network, bits)) return null;
    }
    return RANGE_WORDS[range] ?? `an address of the ${range} range`;
  };

  const check = (host: string, address: string) => {
    const why = refusal(address);
    if (why) throw new OutboundTargetRefused(host, address, why);
  };

  const lookup: GuardedLookup = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { all: true, family: familyOf(lookupOptions.family) }, (error, addresses) => {
      if (error) return callback(error, []);
      try {
        // Every address the name has, not only the first: a name with one internal address among
        // public ones is refused whole (the resolver could hand out either).
        for (const { address } of addresses) check(hostname, address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, []);
      }
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };

  const connector = buildConnector({ lookup } as buildConnector.BuildOptions);
  const agent = new Agent({
    connect: (connectOptions, callback) => {
      // An IP literal is never looked up, so it is checked here (net.connect skips `lookup`).
      const host = unbracket(connectOptions.hostname);
      if (isIP(host)) {
        const why = refusal(host);
        if (why) return callback(new OutboundTargetRefused(host, host, why), null);
      }
      return connector(connectOptions, callback);
    },
  });

  const guardedFetch: OutboundFetch = async (input, init) => {
    const url = new URL(String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new OutboundTargetRefused(url.host, url.host, `${url.protocol} is not http or https`);
    }
    try {
      // undici's own fetch with its own Agent (a dispatcher from another undici is not safe to mix).
      const response = await undiciFetch(url, { ...(init as object), dispatcher: agent });
      return response as unknown as Response;
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (isOutboundRefusal(cause)) throw cause;
      throw error;
    }
  };

  let proxy: Promise<GuardedProxy> | undefined;
  const guard: OutboundGuard = {
    fetch: guardedFetch,
    lookup,
    refusal,
    async checkUrl(text) {
      const url = URL.parse(text);
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return;
      const host = unbracket(url.hostname);
      if (isIP(host)) return check(host, host);
      await new Promise<void>((resolve, reject) => {
        dnsLookup(host, { all: true }, (error, addresses) => {
          if (error) return resolve();
          try {
            for (const { address } of addresses) check(host, address);
            resolve();
          } catch (refused) {
            reject(refused);
          }
        });
      });
    },
    gitProxy: async () => {
      proxy ??= startGuardedProxy(guard);
      return (await proxy).url;
    },
    close: async () => {
      await agent.close();
      if (proxy) await (await proxy).close();
    },
  };
  return guard;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function familyOf(family: number | string | undefined): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}
