/**
 * FRR as the peer of the interop tests: the bgpd configuration most files
 * share, one site with FRR in B and the agent in A, and the vtysh views and
 * failure diagnostics the files ask for. zebra and bgpd themselves are
 * started by startFrr (site.ts).
 */
import { execIn } from '../../lab/helpers/netns.js';
import { join } from 'node:path';
import {
  ASN_A,
  ASN_B,
  FRR_BGPD,
  FRR_ZEBRA,
  HOLD_TIME,
  LAN_B,
  TUN_A,
  createSite,
  startAgent,
  startFrr,
  startPeerTunnel,
  tail,
  teardown,
  type AgentOptions,
  type Frr,
  type Site,
} from './site.js';

/** What an FRR interop file needs installed (for missingPrerequisite). */
export const FRR_PREREQUISITES: readonly string[] = [FRR_ZEBRA, FRR_BGPD, 'vtysh'];

export interface FrrBgpdOptions {
  hostname?: string;
  /** Prefix lists, route-maps, global settings: lines between the log file and `router bgp`. */
  before?: readonly string[];
  asn?: number;
  routerId?: string;
  /** More lines of `router bgp` right after the router id (graceful restart). */
  router?: readonly string[];
  /** true: FRR's `bgp network import-check` stays on (a `network` needs a route in B's RIB). */
  importCheck?: boolean;
  /** The agent's address as FRR's neighbor. */
  neighbor?: string;
  /** The neighbor's lines after its remote-as and timers, without `neighbor X `. */
  session?: readonly string[];
  /** `address-family ipv4 unicast` lines; empty: no such block. */
  ipv4?: readonly string[];
  /** `address-family ipv6 unicast` lines; empty: no such block. */
  ipv6?: readonly string[];
}

/**
 * bgpd's configuration (its log file's path given) for an eBGP session with
 * the agent in AS 65001: hold time HOLD_TIME, a retry every 2 s, GTSM
 * (`ttl-security hops 1`, RFC 5082) unless `session` says otherwise, and
 * B's IPv4 LAN announced unless `ipv4` does.
 */
export function frrBgpdConfig(log: string, o: FrrBgpdOptions = {}): string {
  const n = o.neighbor ?? TUN_A.v4;
  const family = (afi: string, lines: readonly string[]): string[] =>
    lines.length === 0 ? [] : [' !', ` address-family ${afi} unicast`, ...lines.map((l) => `  ${l}`), ' exit-address-family'];
  return [
    'frr defaults datacenter',
    `hostname ${o.hostname ?? 'b'}`,
    `log file ${log}`,
    '!',
    ...(o.before === undefined ? [] : [...o.before, '!']),
    `router bgp ${o.asn ?? ASN_B}`,
    ` bgp router-id ${o.routerId ?? '192.0.2.2'}`,
    ...(o.router ?? []).map((l) => ` ${l}`),
    ' no bgp ebgp-requires-policy',
    ...(o.importCheck === true ? [] : [' no bgp network import-check']),
    ` neighbor ${n} remote-as ${ASN_A}`,
    ` neighbor ${n} timers ${HOLD_TIME / 3} ${HOLD_TIME}`,
    ` neighbor ${n} timers connect 2`,
    ...(o.session ?? ['ttl-security hops 1']).map((l) => ` neighbor ${n} ${l}`),
    ...family('ipv4', o.ipv4 ?? [`network ${LAN_B.v4}`]),
    ...family('ipv6', o.ipv6 ?? []),
    '!',
    '',
  ].join('\n');
}

/**
 * The agent in A (its neighbor options `agent`), FRR in B on `bgpdConfig`,
 * the tunnel between them. The agent is started unless `startAgent: false`
 * (a test that starts it its own way, detached). On failure everything made
 * so far is removed before the error is thrown.
 */
export async function createFrrSite(
  base: string,
  net: number,
  agent: AgentOptions,
  bgpdConfig: (log: string, site: Site) => string,
  opts: { startAgent?: boolean } = {},
): Promise<{ site: Site; frr: Frr }> {
  const site = await createSite(base, net, agent);
  let frr: Frr | undefined;
  try {
    await startPeerTunnel(site, { unnumbered: agent.unnumbered });
    frr = await startFrr(site, (log) => bgpdConfig(log, site));
    if (opts.startAgent !== false) startAgent(site);
    return { site, frr };
  } catch (e) {
    await teardown(site, () => frr?.cleanup());
    throw e;
  }
}

/** For afterAll: the site and FRR's run directory. */
export async function teardownFrrSite(site: Site | undefined, frr: Frr | undefined): Promise<void> {
  await teardown(site, () => frr?.cleanup());
}

/** bgpd started again on its configuration (after a kill; zebra and the tunnel stayed). */
export async function restartBgpd(site: Site, frr: Frr): Promise<void> {
  await execIn(site.nsB, [FRR_BGPD, '-d', '-N', site.nsB, '-P', '0', '-f', join(frr.dir, 'bgpd.conf'), '-i', join(frr.dir, 'bgpd.pid')]);
}

/** FRR's session state with `neighbor` from `show bgp summary json` (IPv4 unicast). */
export function frrPeerState(frr: Frr, neighbor = TUN_A.v4): string | undefined {
  return (JSON.parse(frr.vtysh('show bgp summary json')) as { ipv4Unicast?: { peers?: Record<string, { state: string }> } }).ipv4Unicast?.peers?.[neighbor]?.state;
}

/** `show bgp neighbors X json` for one neighbor, in the shape the caller reads. */
export function frrNeighborJson<T>(frr: Frr, neighbor = TUN_A.v4): T {
  return (JSON.parse(frr.vtysh(`show bgp neighbors ${neighbor} json`)) as Record<string, T>)[neighbor]!;
}

/** FRR's paths for `prefix` (`show bgp AFI unicast PREFIX json`), best first. */
export function frrPaths<T>(frr: Frr, prefix: string, afi: 'ipv4' | 'ipv6' = 'ipv4'): T[] {
  return (JSON.parse(frr.vtysh(`show bgp ${afi} unicast ${prefix} json`)) as { paths?: T[] }).paths ?? [];
}

/**
 * For a failure message: FRR's answer to `command` (its error, if it has
 * none), the tails of the agent's log and of bgpd's.
 */
export function frrDiagnostics(site: Site | undefined, frr: Frr | undefined, command = `show bgp neighbors ${TUN_A.v4}`): string {
  let shown = '';
  try {
    shown = frr === undefined ? '' : frr.vtysh(command);
  } catch (e) {
    shown = String(e);
  }
  return [shown, site ? tail(site.agentLog) : '', frr ? tail(frr.log) : ''].join('\n');
}
