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
   * remote-access neighbor still awaiting it is not down).
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
}

export interface NextHopJson {
  address?: string;
  interface?: string;
}

export interface RouteJson {
  prefix: string;
  source: 'bgp' | 'ospf' | 'static' | 'connected';
  /** Neighbor name the best path came from, or null for local routes. */
  neighbor: string | null;
  asPath: number[];
  nexthops: NextHopJson[];
  fib: boolean;
  /** Why the route is not in the FIB as wanted (another owner's route holds the slot, a write failed), else null. */
  fibDetail: string | null;
}

export interface TunnelJson {
  name: string;
  interface: string;
  dataplaneInterface: string;
  publicKey: string;
  endpoint: string | null;
  latestHandshake: string | null;
  up: boolean;
}

export interface ReloadJson {
  ok: boolean;
  errors: string[];
  added: string[];
  removed: string[];
  changed: string[];
}

/** What the agent exposes to the control socket; the server only serializes. */
export interface ControlHandler {
  status(): StatusJson;
  neighbors(): NeighborJson[];
  /** query: an exact prefix, or an address for a longest match, or undefined for all. */
  routes(query?: string): RouteJson[] | Promise<RouteJson[]>;
  tunnels(): Promise<TunnelJson[]>;
  reload(): Promise<ReloadJson>;
}

/** One request per line, one JSON reply per line. */
export interface ControlRequest {
  command: 'status' | 'neighbors' | 'routes' | 'tunnels' | 'reload';
  query?: string;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };
