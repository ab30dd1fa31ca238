/**
 * GoBGP as the peer of the interop tests: the gobgpd configuration most files
 * share, one site with gobgpd in B and the agent in A, and the `gobgp` views
 * and failure diagnostics the files ask for. gobgpd itself is started by
 * startGobgp (site.ts).
 */
import {
  ASN_A,
  ASN_B,
  HOLD_TIME,
  TUN_A,
  createSite,
  startAgent,
  startGobgp,
  startPeerTunnel,
  tail,
  teardown,
  type AgentOptions,
  type Site,
} from './site.js';

/** What a GoBGP interop file needs installed (for missingPrerequisite). */
export const GOBGP_PREREQUISITES: readonly string[] = ['gobgpd', 'gobgp'];

/** gobgpd in B as startGobgp returns it: its log, and its CLI. */
export type Gobgp = Awaited<ReturnType<typeof startGobgp>>;

export interface GobgpdOptions {
  asn?: number;
  routerId?: string;
  /** TOML right after the global router id, in [global…] tables (apply-policy). */
  global?: string;
  /** Top-level tables between the global section and the neighbor (defined-sets, policy-definitions). */
  definitions?: string;
  /** The agent's address as GoBGP's neighbor (`addr%dev` for a link-local). */
  neighbor?: string;
  /** More keys of [neighbors.timers.config] (minimum-advertisement-interval). */
  timers?: readonly string[];
  /** More tables of the neighbor after its timers (graceful-restart). */
  neighborTables?: string;
  /** The neighbor's AFI-SAFIs: a name, or a name with more TOML of that afi-safi. */
  families?: readonly (string | { name: string; toml: string })[];
}

/**
 * gobgpd's TOML for an eBGP session with the agent in AS 65001: hold time
 * HOLD_TIME, keepalive a third of it, a retry every 2 s; IPv4 unicast unless
 * `families` says otherwise.
 */
export function gobgpdConfig(o: GobgpdOptions = {}): string {
  const family = (f: string | { name: string; toml: string }): string => {
    const name = typeof f === 'string' ? f : f.name;
    const more = typeof f === 'string' ? '' : f.toml;
    return `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "${name}"\n${more}`;
  };
  return `[global.config]
  as = ${o.asn ?? ASN_B}
  router-id = "${o.routerId ?? '192.0.2.2'}"
${o.global ?? ''}
${o.definitions === undefined ? '' : `${o.definitions}\n`}[[neighbors]]
  [neighbors.config]
    neighbor-address = "${o.neighbor ?? TUN_A.v4}"
    peer-as = ${ASN_A}
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = ${HOLD_TIME}
    keepalive-interval = ${HOLD_TIME / 3}
${(o.timers ?? []).map((t) => `    ${t}\n`).join('')}${o.neighborTables ?? ''}${(o.families ?? ['ipv4-unicast']).map(family).join('')}`;
}

/**
 * The agent in A (its neighbor options `agent`; GTSM off, since GoBGP sends
 * TTL 1 to a directly connected peer), gobgpd in B on `config`, the tunnel
 * between them. `setup` runs once gobgpd answers, before the agent starts
 * (the routes GoBGP originates); the agent is started unless `startAgent:
 * false` (a test that starts it its own way, detached). On failure
 * everything made so far is removed before the error is thrown.
 */
export async function createGobgpSite(
  base: string,
  net: number,
  agent: AgentOptions,
  config: string | ((site: Site) => string),
  opts: { setup?: (b: Gobgp, site: Site) => void; startAgent?: boolean } = {},
): Promise<{ site: Site; b: Gobgp }> {
  const site = await createSite(base, net, { ...agent, bgp: { 'ttl-security': false, ...agent.bgp } });
  try {
    await startPeerTunnel(site, { unnumbered: agent.unnumbered });
    const b = await startGobgp(site, typeof config === 'string' ? config : config(site));
    opts.setup?.(b, site);
    if (opts.startAgent !== false) startAgent(site);
    return { site, b };
  } catch (e) {
    await teardown(site);
    throw e;
  }
}

/** GoBGP's session state with `neighbor` as its JSON has it (a name or the FSM number). */
export function gobgpSessionState(b: Gobgp, neighbor = TUN_A.v4): string {
  const n = JSON.parse(b.gobgp('-j', 'neighbor', neighbor)) as { state?: { session_state?: string | number } };
  return String(n.state?.session_state ?? '');
}

/** Whether GoBGP has its session with `neighbor` Established (6 in its numbering). */
export const gobgpEstablished = (b: Gobgp, neighbor = TUN_A.v4): boolean => /established|^6$/i.test(gobgpSessionState(b, neighbor));

/** `gobgp -j global rib -a FAMILY [PREFIX]`: paths by prefix, empty when GoBGP has none. */
export function gobgpRib<T>(b: Gobgp, family: 'ipv4' | 'ipv6', prefix?: string): Record<string, T[]> {
  const text = b.gobgp('-j', 'global', 'rib', '-a', family, ...(prefix === undefined ? [] : [prefix])).trim();
  return (text === '' || text === 'null' ? {} : JSON.parse(text)) as Record<string, T[]>;
}

/**
 * For a failure message: GoBGP's answer to `gobgp ARGS…` (its error, if it
 * has none) for each of `commands`, the tails of the agent's log and of
 * gobgpd's.
 */
export function gobgpDiagnostics(site: Site | undefined, b: Gobgp | undefined, ...commands: string[][]): string {
  let shown = '';
  try {
    for (const args of commands.length > 0 ? commands : [['neighbor', TUN_A.v4]]) shown += b === undefined ? '' : b.gobgp(...args);
  } catch (e) {
    shown = String(e);
  }
  return [shown, site ? tail(site.agentLog) : '', b ? tail(b.log) : ''].join('\n');
}
