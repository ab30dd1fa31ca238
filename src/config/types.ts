/**
 * The validated configuration, as the rest of the agent sees it: defaults filled
 * in, prefixes canonical, keys checked. The YAML key names (kebab-case) are the
 * operator's contract (design.md); these camelCase fields mirror them 1:1.
 */
export type WireguardBackendKind = 'auto' | 'kernel' | 'wireguard-go' | 'vpp';
export type FibBackendKind = 'linux' | 'vpp' | 'none';

export interface NeighborTunnelConfig {
  /** Local tunnel addresses with their prefix length: ["10.255.0.0/31", "fd00:255::/127"]. */
  local: string[];
  /** Remote tunnel addresses (no length): ["10.255.0.1", "fd00:255::1"]. */
  remote: string[];
}

export interface NeighborBgpConfig {
  asn: number;
  /** Seconds; 0 or >= 3 (RFC 4271 §4.2). Default 90. */
  holdTime: number;
  /** Never initiate the TCP connection. Default false. */
  passive: boolean;
  /** GTSM (RFC 5082): TTL 255 out, only segments with the expected TTL in. Default true. */
  ttlSecurity: boolean;
  /** TCP MD5 (RFC 2385) key, or null: none. */
  password: string | null;
  /** RFC 4724 graceful restart, both roles. Default true. */
  gracefulRestart: boolean;
  /** Seconds the peer keeps our routes after our session ends (restart time we advertise). Default 120. */
  gracefulRestartTime: number;
  /**
   * RFC 9494 long-lived graceful restart (`bgp.long-lived-stale-time`): seconds
   * the peer keeps our routes, long-lived stale, after the restart time, and the
   * most we keep its routes so; 0 or absent: off (the default).
   */
  longLivedStaleTime?: number;
  /** OSPF → BGP towards this neighbor: none (null), every internal OSPF route (prefixes null), or those the list matches. */
  advertiseOspf: { prefixes: PrefixListEntry[] | null } | null;
  /** Limits on the prefixes accepted per family (RFC 4486 §4); null: none (iBGP by default). */
  maxPrefix: MaxPrefixConfig | null;
  /** RFC 9234 BGP Role we take on this eBGP session (`bgp.role`); absent: none. */
  role?: BgpRoleName;
  /** RFC 9234 §4.2 strict mode (`bgp.role-strict`): the peer must send its role. Only with a role. */
  roleStrict?: boolean;
  /** Absent in hand-made configs (tests): the same as empty. `bgp.import`: policy names applied in order to what the neighbor sends (empty: none). */
  import?: string[];
  /** `bgp.export`: policy names applied in order to what the neighbor is sent (empty: none). */
  export?: string[];
  /** `bgp.soft-reconfiguration-inbound`: keep each path's pre-policy attributes, so an import policy change is applied without asking the peer. */
  softReconfigurationInbound?: boolean;
  /**
   * `bgp.add-path` (RFC 7911), for IPv4 and IPv6 unicast: `receive` several
   * paths per prefix; `send` up to that many per prefix, best first (0: off,
   * the YAML's false). Absent in hand-made configs: off.
   */
  addPath?: { receive: boolean; send: number };
}

/** `bgp.role` values: the RFC 9234 §4.1 roles, RS for Route Server. */
export type BgpRoleName = 'provider' | 'rs' | 'rs-client' | 'customer' | 'peer';

/**
 * `bgp.max-prefix`: accepted prefixes per family. Above a limit, `warning`
 * logs once and shows it in `neighbors`; `restart` sends Cease/Maximum Number
 * of Prefixes Reached and reconnects after `restartAfter` minutes.
 */
export interface MaxPrefixConfig {
  /** null: no limit for the family. */
  ipv4: number | null;
  ipv6: number | null;
  action: 'warning' | 'restart';
  /** Minutes the session stays down after a restart action. */
  restartAfter: number;
}

/** "10.0.0.0/8 le 24": prefixes inside `prefix` whose length is in ge..le (FRR's prefix lists). */
export interface PrefixListEntry {
  prefix: string;
  ge: number;
  le: number;
}

/** `policy.policies.NAME.terms[]`: a match, attribute changes, and what then happens to the route. */
export interface PolicyTermConfig {
  name: string;
  match: PolicyMatchConfig;
  set: PolicySetConfig;
  /** `next`: go on with the next term (with the changes made so far). */
  action: 'accept' | 'reject' | 'next';
}

/** Every condition given must hold; a list means "any of these". Names refer to `policy.*-lists` and `policy.as-sets`. */
export interface PolicyMatchConfig {
  prefixList?: string[];
  asPath?: string[];
  /** ASNs, or names of as-sets: the path holds one of them. */
  asPathContains?: (number | string)[];
  /** ASNs, or names of as-sets: the path's origin AS is one of them (RFC 6811 §2). */
  originAs?: (number | string)[];
  asPathLength?: { ge: number; le: number };
  community?: string[];
  nextHop?: string[];
  family?: 'ipv4' | 'ipv6';
  neighbor?: string[];
  source?: ('bgp' | 'static' | 'ospf' | 'connected')[];
}

export interface PolicySetConfig {
  localPref?: number;
  med?: number;
  /** `as`: own (our ASN) or first (the path's first AS, the neighbor's on import). */
  prepend?: { as: 'own' | 'first'; count: number };
  community?: { add: string[]; remove: string[]; replace: string[] | null };
  /** Next-hop-self is what every session does already (VPP needs the tunnel address): accepted, changes nothing. */
  nextHopSelf?: boolean;
}

export interface PolicyConfig {
  terms: PolicyTermConfig[];
  /** What happens to a route no terminal term took: `next` hands it to the next policy of the chain. */
  default: 'accept' | 'reject' | 'next';
}

/** The `policy` section: named definitions and named policies. */
export interface PolicyDefinitions {
  prefixLists: Record<string, PrefixListEntry[]>;
  asPathLists: Record<string, string[]>;
  asSets: Record<string, number[]>;
  communityLists: Record<string, string[]>;
  policies: Record<string, PolicyConfig>;
}

/** A neighbor's OSPF over its tunnel (a point-to-point network). */
export interface NeighborOspfConfig {
  /** Dotted quad ("0.0.0.0" is the backbone). */
  area: string;
  cost: number | null;
  helloInterval: number;
  deadInterval: number;
  passive: boolean;
  /** OSPFv2 MD5 (RFC 2328 D.3), OSPFv3 HMAC-SHA-256 trailer (RFC 7166) with the same key; null: none. */
  authentication: { keyId: number; key: string } | null;
}

/** The bridge to FRR's ospfd/ospf6d (null: off). */
export interface OspfConfig {
  routerId: string;
  /** Mbit/s for FRR's auto-cost; null: FRR's default. */
  referenceBandwidth: number | null;
  /** Against BGP's 20 (eBGP) and 200 (iBGP): the lower wins (VPP FIB; see docs for Linux). */
  distance: number;
  /** Our BGP-learned routes into OSPF as external type-2 routes carrying `externalTag` (Linux). */
  redistributeBgp: boolean;
  externalTag: number;
  frr: { vtysh: string; pathspace: string | null; fpmListen: string };
}

export interface NeighborConfig {
  name: string;
  /** Linux name of the tunnel interface (<= 15 chars). */
  interface: string;
  /** The neighbor's WireGuard public key, base64 (32 bytes). */
  publicKey: string;
  /** "host:port" / "[v6]:port", or null: remote-access server style. */
  endpoint: string | null;
  /** Local UDP listen port; null = let the dataplane choose. */
  listenPort: number | null;
  /** Seconds, 0 = off. */
  persistentKeepalive: number;
  /** The tunnel interface's MTU (1280..9000, default 1420); TCP over the tunnel follows it (advmss). */
  mtu: number;
  /** null = unnumbered: IPv6 link-local derived from both public keys (RFC 8950 session). */
  tunnel: NeighborTunnelConfig | null;
  sourceAddress: string | null;
  /** null: the neighbor runs OSPF only (a neighbor runs BGP, OSPF or both). */
  bgp: NeighborBgpConfig | null;
  ospf: NeighborOspfConfig | null;
  /** BFD over the tunnel (RFC 5880/5881), or null: off. `bfd` of the neighbor over the top-level `bfd`. */
  bfd?: NeighborBfdConfig | null;
}

/** Milliseconds and the detect multiplier (RFC 5880 §6.8.1 bfd.DesiredMinTxInterval, RequiredMinRxInterval, DetectMult). */
export interface NeighborBfdConfig {
  minRx: number;
  minTx: number;
  multiplier: number;
}

export interface Config {
  router: { asn: number; routerId: string };
  control: {
    socket: string;
    /** The socket file's group: its members may query (null: root only). */
    group: string | number | null;
    /** Members may also change things (reload, log levels); null: root only. */
    adminGroup: string | number | null;
  };
  ospf: OspfConfig | null;
  /** The Prometheus endpoint: "address:port", or null (off). */
  metrics: { listen: string | null };
  dataplane: {
    wireguard: WireguardBackendKind;
    fib: FibBackendKind;
    keepOnStop: boolean;
    linux: { protocol: number; table: number; metric: number };
    vpp: {
      apiSocket: string;
      linuxCp: boolean;
      linuxCpNetns: string | null;
      tableId: number;
      /** linux-cp off: the Linux interface the operator's control path delivers sessions on (null: the tunnel's name). */
      controlInterface: string | null;
    };
  };
  wireguard: {
    privateKeyFile: string;
    sourceAddress: string | null;
    /** Seconds without a handshake after which an endpoint given as a DNS name is looked up again. */
    reresolveAfter: number;
  };
  /** Canonical prefixes originated by this router. */
  announce: string[];
  /** Absent (hand-made configs): none, false, no definitions. Communities (operator's spelling, see PolicySetConfig) an `announce` entry carries, by canonical prefix. */
  announceCommunities?: Record<string, string[]>;
  /** `bgp.require-policy` (RFC 8212): an eBGP neighbor without an import (export) policy accepts (is sent) nothing. */
  requirePolicy?: boolean;
  /** `bgp.multipath`: ECMP over neighbors whose paths tie with the best (absent in hand-made configs: off). */
  multipath?: MultipathConfig;
  policy?: PolicyDefinitions;
  neighbors: NeighborConfig[];
}

/** `bgp.multipath` (docs/configuration.md, "Multipath"). */
export interface MultipathConfig {
  enabled: boolean;
  /** Paths used at most, the best included. */
  maxPaths: number;
  /** Paths with another AS_PATH of the same length may be used too. */
  relaxAsPath: boolean;
}
