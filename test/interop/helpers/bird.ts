/**
 * BIRD 2 as the peer of the interop tests: the bird.conf most files share,
 * one site with BIRD in B and the agent in A, birdc, and the failure
 * diagnostics the files ask for. BIRD itself is started by startBird
 * (site.ts).
 */
import { execFileSync } from 'node:child_process';
import {
  ASN_A,
  ASN_B,
  HOLD_TIME,
  LAN_B,
  TUN_A,
  TUN_B,
  createSite,
  startAgent,
  startBird,
  startPeerTunnel,
  tail,
  teardown,
  type AgentOptions,
  type Site,
} from './site.js';

/** What a BIRD interop file needs installed (for missingPrerequisite). */
export const BIRD_PREREQUISITES: readonly string[] = ['bird', 'birdc'];

/** BIRD in B as startBird returns it: its control socket, log and config file. */
export type Bird = Awaited<ReturnType<typeof startBird>>;

export interface BirdOptions {
  routerId?: string;
  /** The BGP protocol's name in BIRD (`show protocols`). */
  name?: string;
  /** Protocols and filters between `protocol device` and the BGP session: B's IPv4 LAN as `static lan4` unless given. */
  protocols?: readonly string[];
  /** The session's `local` line: B's tunnel address in AS 65002 unless given (`local as …` when unnumbered). */
  local?: string;
  /** The agent's address as BIRD's neighbor. */
  neighbor?: string;
  /** More lines of `protocol bgp wgbgp` right after its neighbor (interface, local role). */
  peer?: readonly string[];
  /** More lines after `ttl security yes` (graceful restart, password, bfd, route refresh). */
  session?: readonly string[];
  /** `connect delay time`: 10 s (the agent connects first, see bird.test.ts on collisions); null: BIRD's default. */
  connectDelay?: number | null;
  /** The body of the ipv4 channel: everything imported, the static routes exported unless given. */
  ipv4?: string;
  /** The body of the ipv6 channel: everything imported, nothing exported unless given; null: no ipv6 channel. */
  ipv6?: string | null;
  /** false: BIRD's own error wait times instead of 1 s to 5 s. */
  errorWait?: boolean;
}

/**
 * bird.conf (its log file's path given) for an eBGP session `wgbgp` with the
 * agent in AS 65001: hold time HOLD_TIME, GTSM (`ttl security`, RFC 5082),
 * a retry every 2 s, a short error wait; B's IPv4 LAN announced unless
 * `protocols` and `ipv4` say otherwise.
 */
export function birdBgpConfig(log: string, o: BirdOptions = {}): string {
  const connectDelay = o.connectDelay === undefined ? 10 : o.connectDelay;
  return [
    '',
    `log "${log}" all;`,
    `router id ${o.routerId ?? '192.0.2.2'};`,
    'protocol device { scan time 2; }',
    ...(o.protocols ?? [`protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; }`]),
    `protocol bgp ${o.name ?? 'wgbgp'} {`,
    `  ${o.local ?? `local ${TUN_B.v4} as ${ASN_B}`};`,
    `  neighbor ${o.neighbor ?? TUN_A.v4} as ${ASN_A};`,
    ...(o.peer ?? []).map((l) => `  ${l}`),
    `  hold time ${HOLD_TIME};`,
    `  keepalive time ${HOLD_TIME / 3};`,
    '  ttl security yes;',
    ...(o.session ?? []).map((l) => `  ${l}`),
    ...(connectDelay === null ? [] : [`  connect delay time ${connectDelay};`]),
    '  connect retry time 2;',
    ...(o.errorWait === false ? [] : ['  error wait time 1, 5;']),
    `  ipv4 { ${o.ipv4 ?? 'import all; export where source = RTS_STATIC;'} };`,
    ...(o.ipv6 === null ? [] : [`  ipv6 { ${o.ipv6 ?? 'import all; export none;'} };`]),
    '}',
    '',
  ].join('\n');
}

/** birdc against the BIRD at `ctl`; throws on BIRD's error (a non-zero exit). */
export function birdcAt(ctl: string, ...args: string[]): string {
  return execFileSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
}

/**
 * The agent in A (its neighbor options `agent`), BIRD in B on `config`, the
 * tunnel between them; the agent is started unless `startAgent: false`. On
 * failure everything made so far is removed before the error is thrown.
 */
export async function createBirdSite(
  base: string,
  net: number,
  agent: AgentOptions,
  config: (log: string, site: Site) => string,
  opts: { startAgent?: boolean } = {},
): Promise<{ site: Site; bird: Bird }> {
  const site = await createSite(base, net, agent);
  try {
    await startPeerTunnel(site, { unnumbered: agent.unnumbered });
    const bird = await startBird(site, (log) => config(log, site));
    if (opts.startAgent !== false) startAgent(site);
    return { site, bird };
  } catch (e) {
    await teardown(site);
    throw e;
  }
}

/**
 * For a failure message: BIRD's `show protocols all wgbgp` (its error, if it
 * has none), the tails of the agent's log and of BIRD's.
 */
export function birdDiagnostics(site: Site | undefined, bird: Bird | undefined): string {
  let protocols = '';
  try {
    protocols = bird === undefined ? '' : birdcAt(bird.ctl, 'show', 'protocols', 'all', 'wgbgp');
  } catch (e) {
    protocols = String(e);
  }
  return [protocols, site ? tail(site.agentLog) : '', bird ? tail(bird.log) : ''].join('\n');
}

/**
 * BIRD behind tunnel 1 of createPeers (10.255.1.1, router id 192.0.2.11, AS
 * 65002) announcing B's LAN in both families and installing what it learns
 * over BGP into B's kernel (its way back to A's LAN): the first of the two
 * equal paths of the multipath files.
 */
export function birdMultipathPeerConfig(log: string): string {
  return birdBgpConfig(log, {
    routerId: '192.0.2.11',
    protocols: [
      `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; }`,
      `protocol static lan6 { ipv6; route ${LAN_B.v6} via "lan0"; }`,
      'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }',
      'protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }',
    ],
    local: `local 10.255.1.1 as ${ASN_B}`,
    neighbor: '10.255.1.0',
    errorWait: false,
    ipv6: 'import all; export where source = RTS_STATIC; next hop address fd00:255:1::1;',
  });
}
