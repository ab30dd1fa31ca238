/**
 * OpenBGPD as the peer of the interop tests: the bgpd.conf most files share,
 * one site with bgpd in B and the agent in A, and the bgpctl views and
 * failure diagnostics the files ask for. bgpd itself is started by
 * startOpenbgpd (site.ts).
 */
import {
  ASN_A,
  ASN_B,
  HOLD_TIME,
  LAN_B,
  OPENBGPD,
  TUN_A,
  TUN_B,
  createSite,
  startAgent,
  startOpenbgpd,
  startPeerTunnel,
  tail,
  teardown,
  type AgentOptions,
  type Site,
} from './site.js';

/** What an OpenBGPD interop file needs installed (for missingPrerequisite). */
export const OPENBGPD_PREREQUISITES: readonly string[] = [OPENBGPD, 'bgpctl'];

/** bgpd in B as startOpenbgpd returns it: its log, its config file, and bgpctl. */
export type Openbgpd = Awaited<ReturnType<typeof startOpenbgpd>>;

export interface OpenbgpdOptions {
  asn?: number;
  routerId?: string;
  /** B's tunnel address: bgpd listens on it and speaks from it. */
  local?: string;
  /** B's IPv6 tunnel address as a second local-address (IPv6 over the IPv4 session), when given. */
  local6?: string;
  /** `network` lines (B's own routes): B's IPv4 LAN unless given. */
  networks?: readonly string[];
  /** The agent's address as bgpd's neighbor. */
  neighbor?: string;
  descr?: string;
  /** The neighbor block's `announce` and other lines before `ttl-security yes`. */
  session?: readonly string[];
  /** Lines after the `allow` filters (match rules). */
  rules?: readonly string[];
}

/**
 * bgpd.conf (its control socket's path given) for an eBGP session with the
 * agent in AS 65001: hold time HOLD_TIME, GTSM (`ttl-security yes`, RFC
 * 5082), no FIB updates in B, everything allowed both ways; IPv4 unicast
 * unless `session` says otherwise.
 */
export function openbgpdConfig(sock: string, o: OpenbgpdOptions = {}): string {
  const local = o.local ?? TUN_B.v4;
  return [
    `AS ${o.asn ?? ASN_B}`,
    `router-id ${o.routerId ?? '192.0.2.2'}`,
    `socket "${sock}"`,
    'fib-update no',
    `listen on ${local}`,
    ...(o.networks ?? [`network ${LAN_B.v4}`]),
    `neighbor ${o.neighbor ?? TUN_A.v4} {`,
    `  remote-as ${ASN_A}`,
    `  descr "${o.descr ?? 'wgbgp'}"`,
    `  holdtime ${HOLD_TIME}`,
    `  local-address ${local}`,
    ...(o.local6 === undefined ? [] : [`  local-address ${o.local6}`]),
    ...(o.session ?? ['announce IPv4 unicast']).map((l) => `  ${l}`),
    '  ttl-security yes',
    '}',
    'allow from any',
    'allow to any',
    ...(o.rules ?? []),
    '',
  ].join('\n');
}

/**
 * The agent in A (its neighbor options `agent`), bgpd in B on `config`, the
 * tunnel between them; the agent is started unless `startAgent: false`. On
 * failure everything made so far is removed before the error is thrown.
 */
export async function createOpenbgpdSite(
  base: string,
  net: number,
  agent: AgentOptions,
  config: (sock: string) => string,
  opts: { startAgent?: boolean } = {},
): Promise<{ site: Site; b: Openbgpd }> {
  const site = await createSite(base, net, agent);
  try {
    await startPeerTunnel(site, { unnumbered: agent.unnumbered });
    const b = await startOpenbgpd(site, config);
    if (opts.startAgent !== false) startAgent(site);
    return { site, b };
  } catch (e) {
    await teardown(site);
    throw e;
  }
}

/** `bgpctl -j show neighbor X`: the first (only) neighbor, in the shape the caller reads. */
export function openbgpdNeighbor<T>(b: Openbgpd, neighbor = TUN_A.v4): T {
  return (JSON.parse(b.bgpctl('-j', 'show', 'neighbor', neighbor)) as { neighbors: T[] }).neighbors[0]!;
}

/**
 * For a failure message: bgpctl's answer to each of `commands` (its error,
 * if it has none; `show neighbor` the agent by default), the tails of the
 * agent's log and of bgpd's.
 */
export function openbgpdDiagnostics(site: Site | undefined, b: Openbgpd | undefined, ...commands: string[][]): string {
  const shown = (commands.length > 0 ? commands : [['show', 'neighbor', TUN_A.v4]]).map((args) => {
    try {
      return b === undefined ? '' : b.bgpctl(...args);
    } catch (e) {
      return String(e);
    }
  });
  return [...shown, site ? tail(site.agentLog) : '', b ? tail(b.log) : ''].join('\n');
}
