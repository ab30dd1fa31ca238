/**
 * Endpoints given as DNS names (issue 12). The backends are handed IP
 * literals only: a name is resolved here when its tunnel is set up, tried again
 * with a back-off while it does not resolve, and looked up again once the
 * tunnel has had no handshake for `wireguard.reresolve-after` seconds (135 by
 * default, as wireguard-tools' reresolve-dns.sh). A tunnel with a recent
 * handshake keeps the endpoint the dataplane learned (design.md: a roamed
 * endpoint that works is never overwritten), whatever DNS says.
 *
 * Time and the resolver are injected; the agent applies what this returns.
 */
import { lookup } from 'node:dns/promises';
import type { Clock } from '#lib/clock';
import type { Logger } from '#lib/log';
import { formatIp, parseIp } from '#lib/prefix';
import { parseEndpoint } from '#config/fields';
import type { TunnelSpec } from '#wg/types';
import { errorText } from '#lib/error-text';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** All addresses of a host name, in the resolver's order; rejects when there are none. */
export type ResolveFn = (host: string) => Promise<ResolvedAddress[]>;

/** getaddrinfo through libuv: /etc/hosts (the namespace's one under `ip netns exec`), then DNS. */
export const systemResolver: ResolveFn = async (host) =>
  (await lookup(host, { all: true, family: 0 })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** While a name does not resolve: 5 s, 10 s, 20 s … between tries, at most 5 min. */
export const RETRY_FIRST_MS = 5_000;
export const RETRY_MAX_MS = 300_000;
/** A stale tunnel's name is looked up at most this often (reresolve-dns.sh runs from a 30 s timer). */
export const RERESOLVE_INTERVAL_MS = 30_000;
/** The lookup runs on the tunnel poll: a resolver that does not answer holds it this long at most. */
export const LOOKUP_TIMEOUT_MS = 5_000;

interface NameState {
  /** The configured "host:port". */
  configured: string;
  host: string;
  port: number;
  /** The endpoint last given to the backend for this name, "ip:port" / "[ip6]:port"; null while unresolved. */
  applied: string | null;
  /** clock.now() when `applied` was set. */
  appliedAt: number;
  error: string | null;
  failures: number;
  /** clock.now() before which the name is not looked up again. */
  nextTryAt: number;
  /** A lookup is under way: `wgbgp tunnels` polls too, and two polls must not both move the endpoint. */
  lookingUp: boolean;
}

export interface EndpointNameView {
  /** The configured "host:port" when it is a name; null for an IP literal or no endpoint. */
  endpointName: string | null;
  /** Why the name did not resolve the last time it was looked up; null once it does. */
  endpointError: string | null;
}

/** What the tunnel poll read from the dataplane. */
export interface TunnelObservation {
  /** The dataplane's current endpoint (after roaming), or null. */
  endpoint: string | null;
  latestHandshake: Date | null;
}

/** Set `next` on the tunnel's peer; `previous` differs from it in the endpoint only. */
export interface EndpointChange {
  next: TunnelSpec;
  previous: TunnelSpec;
}

export function formatEndpointAddress(address: string, family: 4 | 6, port: number): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** "ip:port" in one spelling, so the dataplane's text and ours compare. */
function canonicalEndpoint(s: string | null): string | null {
  if (s === null) return null;
  const m = /^\[([^\]%]+)(?:%[^\]]*)?\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const ip = m ? parseIp(m[1]!) : null;
  return ip ? formatEndpointAddress(formatIp(ip.bytes), ip.family, Number(m![2])) : s;
}

function familyOf(address: string | null): 4 | 6 | null {
  return address === null ? null : parseIp(address)?.family ?? null;
}

export class EndpointNames {
  private readonly names = new Map<string, NameState>();

  constructor(
    private readonly deps: { clock: Clock; log: Logger; resolve: ResolveFn },
  ) {}

  /**
   * The spec as the backend is to see it: a name replaced by its address, or
   * null while it does not resolve (the tunnel is made all the same; the peer
   * may still connect to us). A name is looked up here only when it is new
   * (first setup, or a reload changed it); a name known not to resolve is left
   * to poll(), which never overrides an endpoint the peer roamed to meanwhile.
   */
  async apply(spec: TunnelSpec): Promise<TunnelSpec> {
    const configured = spec.endpoint;
    const ep = configured === null ? null : parseEndpoint(configured);
    if (configured === null || ep === null || typeof ep === 'string' || ep.family !== null) {
      this.names.delete(spec.name);
      return spec;
    }
    let st = this.names.get(spec.name);
    if (st === undefined || st.configured !== configured) {
      st = { configured, host: ep.host, port: ep.port, applied: null, appliedAt: 0, error: null, failures: 0, nextTryAt: 0, lookingUp: false };
      this.names.set(spec.name, st);
      const address = await this.lookUp(spec, st);
      if (address !== null) this.setApplied(st, address);
    }
    return { ...spec, endpoint: st.applied };
  }

  /**
   * `previous` as the backend saw it: its name replaced by the address applied
   * for it. Read before apply() of the new spec.
   */
  previous(previous: TunnelSpec | null): TunnelSpec | null {
    if (previous === null || previous.endpoint === null) return previous;
    const st = this.names.get(previous.name);
    if (st === undefined || st.configured !== previous.endpoint) return previous;
    return { ...previous, endpoint: st.applied };
  }

  /**
   * On the tunnel poll: looks the name up when it is due (unresolved and past
   * its back-off, or no handshake for `reresolveAfterSec`), and returns the
   * change to make when the dataplane's endpoint should move. Never while the
   * tunnel has a recent handshake: that endpoint works (roaming).
   */
  async poll(spec: TunnelSpec, seen: TunnelObservation, reresolveAfterSec: number): Promise<EndpointChange | null> {
    const st = this.names.get(spec.name);
    if (st === undefined || st.configured !== spec.endpoint) return null;
    const now = this.deps.clock.now();
    if (now < st.nextTryAt || st.lookingUp) return null;
    const limitMs = reresolveAfterSec * 1000;
    const handshakeAgeMs = seen.latestHandshake === null ? Infinity : this.deps.clock.wallNow().getTime() - seen.latestHandshake.getTime();
    const recent = handshakeAgeMs <= limitMs;
    // An address just set gets its chance to bring a handshake before it is doubted.
    const settled = st.applied === null || now - st.appliedAt >= limitMs;
    if (recent || !settled) {
      // Still retried while unresolved, so `tunnels` stops showing an old error; applied later, when stale.
      if (st.applied === null && st.error !== null) await this.lookUp(spec, st);
      return null;
    }
    const address = await this.lookUp(spec, st);
    if (address === null) return null;
    const current = canonicalEndpoint(seen.endpoint);
    const before = st.applied;
    if (address === current) {
      if (before !== address) this.setApplied(st, address);
      return null;
    }
    this.setApplied(st, address);
    this.deps.log.info(
      {
        neighbor: spec.name,
        endpoint: st.configured,
        from: current,
        to: address,
        lastHandshake: seen.latestHandshake?.toISOString() ?? null,
      },
      current === null
        ? 'the endpoint name resolves now: setting the endpoint'
        : 'no recent handshake and the endpoint name resolves elsewhere: setting the new endpoint',
    );
    return { next: { ...spec, endpoint: address }, previous: { ...spec, endpoint: current } };
  }

  view(name: string): EndpointNameView {
    const st = this.names.get(name);
    return st === undefined ? { endpointName: null, endpointError: null } : { endpointName: st.configured, endpointError: st.error };
  }

  forget(name: string): void {
    this.names.delete(name);
  }

  private withTimeout<T>(p: Promise<T>, host: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.deps.clock.setTimeout(() => reject(new Error(`${host}: no answer from the resolver in ${LOOKUP_TIMEOUT_MS / 1000} s`)), LOOKUP_TIMEOUT_MS);
      p.then(
        (v) => {
          timer.cancel();
          resolve(v);
        },
        (e: unknown) => {
          timer.cancel();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  private setApplied(st: NameState, address: string): void {
    st.applied = address;
    st.appliedAt = this.deps.clock.now();
  }

  /** One lookup; the address chosen ("ip:port") or null, with the state's error and next try updated. */
  private async lookUp(spec: TunnelSpec, st: NameState): Promise<string | null> {
    const want = familyOf(spec.sourceAddress);
    let chosen: { bytes: Uint8Array; family: 4 | 6 } | null = null;
    let error: string | null = null;
    st.lookingUp = true;
    try {
      const all = await this.withTimeout(this.deps.resolve(st.host), st.host);
      const pick = (want === null ? all[0] : all.find((a) => a.family === want)) ?? null;
      chosen = pick === null ? null : parseIp(pick.address);
      if (pick !== null && chosen === null) error = `${st.host} resolved to an unusable address ${pick.address}`;
      else if (chosen === null) {
        error =
          all.length === 0
            ? `${st.host} has no address`
            : `${st.host} has no IPv${want} address (the tunnel's source address is IPv${want}), only ${all.map((a) => a.address).join(', ')}`;
      }
    } catch (err) {
      error = errorText(err);
    } finally {
      st.lookingUp = false;
    }
    const now = this.deps.clock.now();
    if (chosen === null) {
      st.failures += 1;
      const wait = Math.min(RETRY_FIRST_MS * 2 ** (st.failures - 1), RETRY_MAX_MS);
      st.nextTryAt = now + wait;
      const log = error !== st.error ? this.deps.log.warn.bind(this.deps.log) : this.deps.log.debug.bind(this.deps.log);
      log(
        { neighbor: spec.name, endpoint: st.configured, err: error, retryInSeconds: wait / 1000 },
        'endpoint name does not resolve; the peer may still connect to us',
      );
      st.error = error;
      return null;
    }
    const address = formatEndpointAddress(formatIp(chosen.bytes), chosen.family, st.port);
    if (st.error !== null || st.applied !== address) {
      this.deps.log.info({ neighbor: spec.name, endpoint: st.configured, address }, 'endpoint name resolved');
    }
    st.error = null;
    st.failures = 0;
    st.nextTryAt = now + RERESOLVE_INTERVAL_MS;
    return address;
  }
}
