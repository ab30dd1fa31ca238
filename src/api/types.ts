/**
 * The control socket's JSON shapes. Field names are the operator's contract
 * (design.md "The operator's contract"): add fields freely, never rename.
 */
export type BgpStateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface StatusJson {
  version: string;
  asn: number;
  routerId: string;
  uptimeSeconds: number;
  dataplane: {
    wireguard: string;
    fib: string;
    state: 'ok' | 'degraded' | 'down';
    detail: string | null;
    vppVersion?: string | null;
  };
  /**
   * `down`: neighbors expected up and not Established — every neighbor with
   * an endpoint, and one without once its first handshake came (a
   * remote-access neighbor still awaiting it is not down, nor is one the
   * operator shut down with `wgbgp neighbor NAME shutdown`).
   */
  neighbors: { total: number; established: number; down: number };
  routes: { rib: number; fib: number };
  /**
   * BGP connections that did not come through a neighbor's tunnel, refused
   * without an OPEN (design.md "Identity"), and what the kernel dropped
   * before any socket saw it (null where /proc/net/netstat is unreadable).
   */
  bgp: {
    port: number;
    refused: { total: number; notThroughTunnel: number; wrongSource: number; lastSource: string | null };
    kernelDrops: { ttlSecurity: number; md5: number } | null;
  };
  /** The OSPF bridge to FRR; absent or null when `ospf:` is not configured. */
  ospf?: OspfStatusJson | null;
  /**
   * What the agent holds (BIRD's `show memory`), in bytes: `resident` is the
   * process's resident set, `private` the part of it that is the agent's own
   * (the rest is node's executable and libraries, shared file pages),
   * `heap` the JavaScript heap in use, `tables` the typed-array columns of
   * the RIB and FIB (prefix numbers, Loc-RIB, Adj-RIBs, FIB state).
   * `attributeSets` counts distinct interned path attribute sets (received,
   * and those made by export policy). Absent from agents before this field.
   */
  memory?: MemoryJson;
}

export interface MemoryJson {
  resident: number;
  /** Null where /proc/self/status is unreadable. */
  private: number | null;
  heap: number;
  tables: number;
  attributeSets: number;
}

export interface OspfStatusJson {
  /** ok: FRR has our configuration and zebra feeds us over FPM; down: FRR is not there. */
  state: 'ok' | 'degraded' | 'down';
  detail: string | null;
  frrVersion: string | null;
  fpm: { listening: string | null; connected: boolean; phase: string; routes: number };
  /** Tunnel interfaces OSPF runs on. */
  interfaces: string[];
  /** When FRR last took our configuration (ISO 8601), or null. */
  lastApply: string | null;
}

export interface NeighborJson {
  name: string;
  interface: string;
  peerAddress: string | null;
  asn: number;
  state: BgpStateName;
  /** When the session entered its current state (ISO 8601), or null when unknown. */
  stateSince: string | null;
  /** Prefixes held in the Adj-RIB-In, eligible or not (RFC 4271 §3.2). */
  prefixesReceived: number;
  /** Of those, the ones import policy accepted (not looped, not martian). */
  prefixesAccepted: number;
  prefixesAdvertised: number;
  lastError: string | null;
  /** When lastError was set (ISO 8601), or null. */
  lastErrorAt: string | null;
  /** Seconds in Established, or null when not Established. */
  uptimeSeconds: number | null;
  /** Times the session came up, and times an Established session went down. */
  established: number;
  flaps: number;
  /** Messages of this session's lifetime in the agent (all connections). */
  updatesReceived: number;
  updatesSent: number;
  messagesReceived: number;
  messagesSent: number;
  /** Configured hold time and keepalive (a third of it); the negotiated pair while Established, else null. */
  timers: { holdTime: number; keepalive: number; negotiatedHoldTime: number | null; negotiatedKeepalive: number | null };
  /** What both sides agreed in the OPEN exchange; null when not Established. */
  session: NegotiatedJson | null;
  /**
   * Set while `wgbgp neighbor NAME shutdown` keeps the session down: the
   * shutdown communication sent (RFC 9003) and since when; null when enabled.
   * (Absent from agents before it.)
   */
  adminShutdown?: { message: string | null; since: string } | null;
  /** The last NOTIFICATION sent or received, collision resolution aside; null: none yet. */
  lastNotification?: NotificationJson | null;
  /** The neighbor's max-prefix limits and what they found; null when it has none. */
  maxPrefix?: MaxPrefixJson | null;
  /** Route refresh (RFC 2918, RFC 7313) with this neighbor since the agent started. */
  routeRefresh?: RouteRefreshJson;
  /** Its BFD session (RFC 5880); null when BFD is off for it. (Absent from agents before it.) */
  bfd?: NeighborBfdJson | null;
  /** Its policy chains (bgp.import, bgp.export); `note` says what bgp.require-policy (RFC 8212) does to it, null when nothing. */
  policy?: PolicyJson;
  /**
   * Its routes kept while it is away (RFC 4724, RFC 9494), or null when none:
   * how many, and per family in its long-lived stale time the seconds left
   * before they go. (Absent from agents before it.)
   */
  staleRoutes?: StaleRoutesJson | null;
  /**
   * What waits to be sent to it: octets in our socket's buffer, and whether
   * it reads too slowly for the changes (behind: changes are remembered per
   * prefix, not queued as UPDATEs; owedPrefixes go once it has drained).
   * (Absent from agents before it.)
   */
  sendQueue?: ExportPacingJson;
}

export interface ExportPacingJson {
  /** Octets written to the session's socket and not yet taken by the kernel. */
  octets: number;
  behind: boolean;
  /** Prefixes it is owed an UPDATE for (sent from the Loc-RIB as it is then, each once). */
  owedPrefixes: number;
  /** Times, since the agent started, changes for it found more than the high mark waiting in its socket. */
  timesBehind: number;
}

export interface StaleRoutesJson {
  routes: number;
  /** Families whose routes are long-lived stale (LLGR_STALE, least preferred), with the seconds left. */
  longLived: { family: string; routes: number; secondsLeft: number }[];
}

export interface PolicyJson {
  import: string[];
  export: string[];
  softReconfigurationInbound: boolean;
  note: string | null;
}

/** A neighbor's BFD session as `neighbors --json` shows it. */
export interface NeighborBfdJson {
  /** RFC 5880 §4.1 state names: AdminDown, Down, Init, Up. */
  state: 'AdminDown' | 'Down' | 'Init' | 'Up';
  /** The state the peer last reported. */
  remoteState: 'AdminDown' | 'Down' | 'Init' | 'Up';
  localDiscriminator: number | null;
  /** null until the peer is heard (and again after a detection time of silence, RFC 5880 §6.8.1). */
  remoteDiscriminator: number | null;
  /** Negotiated (RFC 5880 §6.8.2, §6.8.4): the interval we send at and the detection time, ms; null while not running. */
  txIntervalMs: number | null;
  detectionTimeMs: number | null;
  /** When the state last changed (ISO 8601), null before the session reported. */
  since: string | null;
  /** Why it last went down, in RFC 5880 §4.1 diagnostic words ("control detection time expired"); null: never. */
  lastDownReason: string | null;
  /** Why its socket cannot be used now (no tunnel interface yet, port 3784 taken); null when fine. */
  error: string | null;
}

/** Route refresh counters of a neighbor (`neighbors --json`), kept across its sessions. */
export interface RouteRefreshJson {
  /** ROUTE-REFRESH requests the peer sent (it asked for our routes again), and the last one's time (ISO 8601). */
  received: number;
  lastReceived: string | null;
  /** Requests we sent (`wgbgp neighbor NAME refresh --in`, or a policy reload), one per family. */
  sent: number;
  lastSent: string | null;
  /** Our re-advertisements completed (answers to its requests, and `refresh --out`). */
  answered: number;
  /** RFC 7313 §4: the peer's EoRR did not come in time and its stale paths were removed. */
  eorrTimeouts: number;
  /** Families we are sending again now. */
  resending: string[];
  /** Families the peer is sending again now (BoRR seen, EoRR not yet). */
  awaitingEorr: string[];
}

/** The answer to `wgbgp neighbor NAME refresh [--in|--out]`: per direction what was done, null when not asked. */
export interface NeighborRefreshJson {
  name: string;
  /** We asked the peer to send its routes again (ROUTE-REFRESH, RFC 2918). */
  in: RefreshStatusName | null;
  /** We send it our routes again (RFC 7313 BoRR/EoRR around them when negotiated). */
  out: RefreshStatusName | null;
}

/** `not-supported`: the peer did not advertise route refresh (RFC 2918 §2). */
export type RefreshStatusName = 'sent' | 'not-established' | 'not-supported';

export interface NotificationJson {
  direction: 'sent' | 'received';
  code: number;
  subcode: number;
  /** "6/2 Administrative Shutdown: \"maintenance\"" */
  text: string;
  /** RFC 8203/9003: the shutdown communication of an Administrative Shutdown or Reset; null: none or malformed. */
  communication: string | null;
  /** ISO 8601. */
  at: string;
}

/** Max-prefix per family (RFC 4486 §4 when it tears the session down). */
export interface MaxPrefixJson {
  action: 'warning' | 'restart';
  /** Minutes the session stays down before it reconnects (action restart); null with warning. */
  restartAfter: number | null;
  /** Per family: the limit and the prefixes accepted now; null: no limit for the family. */
  ipv4: { limit: number; accepted: number } | null;
  ipv6: { limit: number; accepted: number } | null;
  /** The limit that is exceeded (warning) or was (restart, while the session is held down); else null. */
  exceeded: { family: 'ipv4-unicast' | 'ipv6-unicast'; limit: number; accepted: number; since: string } | null;
  /** When the held-down session reconnects (ISO 8601); null when it is not held down. */
  restartAt: string | null;
}

/** The answer to `wgbgp neighbor NAME shutdown|enable|reset`. */
export interface NeighborActionJson {
  name: string;
  action: NeighborAction;
  /** False when it already was so (shut down twice, enable of a neighbor that is not down). */
  changed: boolean;
  /** The session's state once the action is done. */
  state: BgpStateName;
}

export type NeighborAction = 'shutdown' | 'enable' | 'reset';

export interface NegotiatedJson {
  peerRouterId: string;
  localAddress: string;
  remoteAddress: string;
  /** "ipv4-unicast", "ipv6-unicast" (both sides advertised them). */
  families: string[];
  fourOctetAs: boolean;
  routeRefresh: boolean;
  /** RFC 7313: both sides advertised enhanced route refresh (BoRR/EoRR). Absent from agents before it. */
  enhancedRouteRefresh?: boolean;
  /** RFC 8950: IPv4 routes with IPv6 next hops. */
  extendedNextHop: boolean;
  /** The peer's RFC 4724 capability, when both sent one. */
  gracefulRestart: { restartTime: number; restarting: boolean; families: { family: string; forwardingState: boolean }[] } | null;
  /**
   * The peer's RFC 9494 long-lived graceful restart capability when both sent
   * one (with graceful restart): per family its long-lived stale time and F.
   * Null: not negotiated. (Absent from agents before it.)
   */
  longLivedGracefulRestart?: { families: { family: string; staleTime: number; forwardingState: boolean }[] } | null;
  /**
   * RFC 9234 roles ("provider", "rs", "rs-client", "customer", "peer"): ours
   * (bgp.role) and the one the peer sent, null when it sent none. Absent
   * when no role is configured for the neighbor.
   */
  roles?: { local: string; peer: string | null };
  /**
   * RFC 7911 ADD-PATH as negotiated (§5): the families ("ipv4-unicast", …)
   * whose paths we receive with Path Identifiers, and those we send so.
   * Absent when neither direction applies to any family.
   */
  addPath?: { receive: string[]; send: string[] };
}

export interface NextHopJson {
  address?: string;
  interface?: string;
}

/**
 * Why a path is kept though its neighbor has not confirmed it: `graceful-restart`
 * (RFC 4724 §4.2: the neighbor restarts, or refreshes, RFC 7313 §4: not sent again yet)
 * or `long-lived` (RFC 9494: it carries LLGR_STALE, 65535:6, and is least preferred).
 */
export type StaleState = 'graceful-restart' | 'long-lived';

export interface RouteJson {
  prefix: string;
  source: 'bgp' | 'ospf' | 'static' | 'connected';
  /** Neighbor name the best path came from, or null for local routes. */
  neighbor: string | null;
  /** A BGP route: whether its path is stale (StaleState), null when fresh. Absent for other sources. */
  stale?: StaleState | null;
  asPath: number[];
  nexthops: NextHopJson[];
  fib: boolean;
  /** Why the route is not in the FIB as wanted (another owner's route holds the slot, a write failed), else null. */
  fibDetail: string | null;
  /** With a PREFIX or ADDRESS query: every path for the prefix, the best first, then the other candidates best first, then the ineligible ones. */
  paths?: PathJson[];
  /** With a PREFIX or ADDRESS query: how the best path was chosen (null: no path in the Loc-RIB, only OSPF's route). */
  decision?: DecisionJson | null;
}

/** One path of a prefix as `routes PREFIX --json` shows it. */
export interface PathJson {
  /** The neighbor it was received from; null for our own route (static, connected). */
  neighbor: { name: string; address: string; asn: number; routerId: string } | null;
  source: RouteJson['source'];
  origin: 'igp' | 'egp' | 'incomplete' | null;
  /** AS numbers, flattened (an AS_SET's members in its place). */
  asPath: number[];
  /** The length the decision process compares (RFC 4271 §9.1.2.2 a: an AS_SET counts 1). */
  asPathLength: number;
  /** The BGP next hop, then the link-local one when two were sent (RFC 2545 §3). */
  nexthops: string[];
  localPref: number | null;
  med: number | null;
  /** RFC 1997, "ASN:value". */
  communities: string[];
  /** RFC 4360: "rt:ASN:N", "rt:IP:N", "soo:…", others as 16 hex digits "0x…". */
  extendedCommunities: string[];
  /** RFC 8092, "ASN:local1:local2". */
  largeCommunities: string[];
  /** RFC 9234 ONLY_TO_CUSTOMER: the AS it carries, null when absent. */
  otc: number | null;
  /** See StaleState; null: fresh. */
  stale: StaleState | null;
  /** The Loc-RIB's best path. */
  best: boolean;
  /** A candidate of the decision process. */
  eligible: boolean;
  /**
   * Forwards together with the best (bgp.multipath; the best itself too):
   * true on every path of the FIB route when two or more are used.
   */
  multipath?: boolean;
  /** Why not: "next-hop-unusable", "as-path-loop", "next-hop-self", "martian", "role-leak", "policy"; null when eligible. */
  ineligibleReason: string | null;
  /** With "policy": the term that rejected it ("POLICY/TERM", "POLICY/default", "end of chain", or the bgp.require-policy reason). */
  rejectedBy?: string;
  /** RFC 7911: the Path Identifier the neighbor sent this path with; absent when it sends none for the family. */
  pathId?: number;
}

/** RFC 4271 §9.1.2.2: the step that chose the best, and the path it won against (the runner-up). */
export interface DecisionJson {
  /** "only-path", "local-pref", "local-origin", "as-path-length", "origin", "med", "ebgp-over-ibgp", "router-id", "peer-address", "equal". */
  step: string;
  /** The runner-up: its neighbor's name (null: our own route) and source; null with only-path. */
  against: { neighbor: string | null; source: RouteJson['source'] } | null;
}

export interface TunnelJson {
  name: string;
  interface: string;
  dataplaneInterface: string;
  publicKey: string;
  endpoint: string | null;
  latestHandshake: string | null;
  up: boolean;
  /** Bytes received from and sent to the peer, as the dataplane counts them (null where it does not: VPP). */
  rxBytes: number | null;
  txBytes: number | null;
  /** The tunnel interface's MTU (neighbors[].mtu, as the agent set it; issue 12). */
  mtu?: number;
  /** The configured "host:port" when the endpoint is a DNS name (null: an IP literal or none). */
  endpointName: string | null;
  /** Why that name did not resolve the last time it was looked up; null once it does. */
  endpointError: string | null;
  /**
   * Handshake age (docs/operations.md): false when the latest handshake is
   * older than 190 s (WireGuard's 180 s REJECT_AFTER_TIME + 10 s) or there was
   * none; null where the dataplane gives no handshake time (VPP).
   */
  alive?: boolean | null;
  /** Why not alive, or why it cannot be told (an idle tunnel); null when alive, and on VPP. */
  aliveReason?: string | null;
  /** The neighbor's BFD state, null when BFD is off for it. */
  bfd?: 'AdminDown' | 'Down' | 'Init' | 'Up' | null;
}

export interface ReloadJson {
  ok: boolean;
  errors: string[];
  added: string[];
  removed: string[];
  changed: string[];
  /** Neighbors whose OSPF settings alone changed: handed to FRR live, tunnel and session untouched (absent: none). */
  ospf?: string[];
  /**
   * Neighbors whose tunnel alone changed (MTU, keepalive, a numbered
   * neighbor's public key): applied to the tunnel in place, the session stays (absent: none).
   */
  tunnels?: string[];
  /** Established neighbors whose import or export policy changed: applied to the running session (absent: none). */
  policies?: string[];
}

/**
 * `wgbgp reload --dry-run`: what a reload of the file would do, nothing
 * applied. `ok` false with the errors a reload would give.
 */
export interface ReloadDryRunJson {
  ok: boolean;
  errors: string[];
  added: string[];
  removed: string[];
  /** Rebuilt by a reload (tunnel and session start again). */
  changed: string[];
  /** Per established neighbor kept by the reload: what its policies would do. */
  neighbors: PolicyDryRunJson[];
}

export interface PolicyDryRunJson {
  name: string;
  /** Over its received paths (those the built-in checks let through): accepted and rejected now, and with the new import policy. */
  import: {
    changed: boolean;
    acceptedNow: number;
    accept: number;
    reject: number;
    /** True with soft-reconfiguration-inbound (or no policy now): judged on the paths as received; false: on the paths as the current policy changed them. */
    exact: boolean;
  };
  /** Its Adj-RIB-Out now, and with the new export policy: prefixes newly sent, no longer sent, and sent in all. */
  export: { changed: boolean; advertisedNow: number; send: number; stop: number; total: number };
}

/**
 * One line of `wgbgp watch`: what changed, when (ISO 8601). Kinds may be
 * added; a reader skips the ones it does not know.
 */
export type WatchEvent =
  | { type: 'session'; time: string; neighbor: string; from: BgpStateName; to: BgpStateName; lastError: string | null }
  | { type: 'routes'; time: string; rib: number; fib: number; pending: number }
  | { type: 'handshake'; time: string; neighbor: string; interface: string; endpoint: string | null }
  | { type: 'dataplane'; time: string; state: 'ok' | 'degraded' | 'down'; detail: string | null }
  | { type: 'reload'; time: string; ok: boolean; added: string[]; removed: string[]; changed: string[]; errors: string[]; ospf?: string[]; tunnels?: string[]; policies?: string[] }
  | { type: 'log-level'; time: string; component: string; level: string }
  | { type: 'bfd'; time: string; neighbor: string; from: NeighborBfdJson['state']; to: NeighborBfdJson['state']; reason: string; remoteState: NeighborBfdJson['state'] };

export interface LogLevelsJson {
  levels: Record<string, string>;
}

/** What the agent exposes to the control socket; the server only serializes. */
export interface ControlHandler {
  status(): StatusJson;
  neighbors(): NeighborJson[];
  /** query: an exact prefix, or an address for a longest match, or undefined for all. */
  routes(query?: string): RouteJson[] | Promise<RouteJson[]>;
  tunnels(): Promise<TunnelJson[]>;
  reload(): Promise<ReloadJson>;
  /** `wgbgp reload --dry-run`: the file read and judged, nothing applied. */
  reloadDryRun?(): Promise<ReloadDryRunJson>;
  /** Calls `listener` with every event until the returned function is called. */
  watch?(listener: (e: WatchEvent) => void): () => void;
  /** Sets a component's level (both given) or only reports them; unknown names are an error. */
  logLevel?(component?: string, level?: string): LogLevelsJson;
  /** FRR's OSPF neighbors and routes (`wgbgp ospf neighbors|routes`); absent or throwing without the bridge. */
  ospfNeighbors?(): Promise<OspfNeighborJson[]>;
  ospfRoutes?(): Promise<OspfRouteJson[]>;
  /** `wgbgp neighbor NAME shutdown|enable|reset`; an unknown name or a message that cannot be sent is an error. */
  neighborAction?(name: string, action: NeighborAction, message?: string): Promise<NeighborActionJson>;
  /** `wgbgp neighbor NAME refresh [--in|--out]`; an unknown name is an error. */
  neighborRefresh?(name: string, direction: RefreshDirection | 'both'): NeighborRefreshJson;
}

/** Route refresh towards us (`in`: the peer sends its routes again) or from us (`out`). */
export type RefreshDirection = 'in' | 'out';

/** One OSPF adjacency as FRR reports it (`show ip ospf neighbor json`, `show ipv6 ospf6 neighbor json`). */
export interface OspfNeighborJson {
  family: 'ipv4' | 'ipv6';
  routerId: string;
  /** OSPF neighbor state (RFC 2328 §10.1): "Full" when adjacent. */
  state: string;
  interface: string;
  /** The configured neighbor whose tunnel this is, or null. */
  neighbor: string | null;
  address: string | null;
  deadTimeMs: number | null;
  uptimeMs: number | null;
}

/** One route of OSPF's own table (`show ip ospf route json`, `show ipv6 ospf6 route detail json`). */
export interface OspfRouteJson {
  family: 'ipv4' | 'ipv6';
  prefix: string;
  type: 'intra' | 'inter' | 'external1' | 'external2';
  cost: number;
  type2Cost: number | null;
  tag: number | null;
  area: string | null;
  nexthops: { address: string | null; interface: string | null }[];
}

export type ControlCommand =
  | 'status'
  | 'neighbors'
  | 'routes'
  | 'tunnels'
  | 'reload'
  | 'watch'
  | 'log-level'
  | 'ospf-neighbors'
  | 'ospf-routes'
  | 'neighbor';

/**
 * Commands that change the agent: root (or the agent's own user) and
 * `control.admin-group` only. The rest are open to whoever may connect.
 */
export const CHANGING_COMMANDS: ReadonlySet<ControlCommand> = new Set(['reload', 'neighbor']);

/** One request per line, one JSON reply per line (`watch`: then one event per line). */
export interface ControlRequest {
  command: ControlCommand;
  /** routes: the prefix or address. neighbors, neighbor: a neighbor's name. */
  query?: string;
  /** neighbor: what to do (required); `refresh` is route refresh (RFC 2918, RFC 7313). */
  action?: NeighborAction | 'refresh';
  /** neighbor refresh: one direction, `in` (ask the peer) or `out` (send ours); absent: both. */
  direction?: RefreshDirection;
  /** neighbor shutdown, reset: the shutdown communication (RFC 9003). */
  message?: string;
  /** log-level: the component and the level to set (both absent: report the levels). */
  component?: string;
  level?: string;
  /** reload: only say what would change. */
  dryRun?: boolean;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };
