/**
 * What the agent asks of the Linux kernel (rtnetlink). One implementation talks
 * AF_NETLINK directly from Node; every call works in the namespace the agent
 * process runs in.
 */
export interface KernelRoute {
  /** Canonical prefix. */
  prefix: string;
  table: number;
  protocol: number;
  /** RTA_PRIORITY; from a dump always set (0: none), in a write absent: not sent. */
  metric?: number;
  /**
   * One entry per path (RTA_MULTIPATH expands to several). From a dump: frozen, shared by the routes with the same paths;
   * for a route naming a nexthop object, the object's paths (a group's members).
   */
  nexthops: { address?: string; interface?: string }[];
  /** From a dump: RTA_NH_ID, the nexthop object the route names (absent: paths of its own). */
  nhId?: number;
  /** RTAX_ADVMSS (absent: none, the kernel derives the MSS from the device's MTU). */
  advmss?: number;
  /** RTAX_HOPLIMIT (absent: none, the system's default TTL). */
  hoplimit?: number;
}

export type RouteOp =
  | { op: 'add' | 'replace'; route: KernelRoute }
  | { op: 'delete'; route: Pick<KernelRoute, 'prefix' | 'table' | 'protocol' | 'metric'> };

/** What marks a route as the agent's: its table, protocol number and metric. */
export interface RouteTag {
  table: number;
  protocol: number;
  metric: number;
}

/**
 * A route write for routeWrite, which takes the tag once for the whole batch
 * (a FibOp has this shape, so a FIB batch passes as it is). `add` never
 * overwrites (NLM_F_EXCL), `replace` overwrites the route with the same tag.
 */
export type RouteWrite =
  | { op: 'add' | 'replace'; route: { prefix: string; nexthops: readonly { address?: string; interface?: string }[] } }
  | { op: 'delete'; prefix: string };

/**
 * Route writes as columns (the FIB manager's batch), so routeWrite reads each
 * op through these calls instead of an object per op. `dst`, when present,
 * writes op i's destination address into `v4` or `v6` and returns its prefix
 * length (+256 for IPv6): the encoder then parses no text, and prefix(i) is
 * asked only for an op that cannot be encoded otherwise.
 */
export interface RouteWriteColumns {
  readonly length: number;
  how(i: number): 'add' | 'replace' | null;
  prefix(i: number): string;
  nexthops(i: number): readonly { readonly address?: string; readonly interface?: string }[] | null;
  dst?(i: number, v4: Uint8Array, v6: Uint8Array): number;
}

/**
 * A Linux nexthop object (linux/nexthop.h): one next hop routes name by id
 * (RTA_NH_ID), so that changing the object moves all of them. Exactly one of:
 * a device with or without a gateway, a blackhole, or a group of others.
 */
export interface NexthopObject {
  /** 1..2^32-1, chosen by the writer. */
  id: number;
  /** nh_protocol: whose object it is. */
  protocol: number;
  /** The gateway of a single next hop (absent: device only). */
  address?: string;
  /** The device of a single next hop. */
  interface?: string;
  blackhole?: boolean;
  /** A group (ECMP): member objects (single next hops) and weights 1..256. */
  group?: readonly { id: number; weight: number }[];
}

/** `add` never overwrites (NLM_F_EXCL: EEXIST when the id is anybody's), `replace` does, `delete` goes by id. */
export type NexthopWrite = { op: 'add' | 'replace'; nexthop: NexthopObject } | { op: 'delete'; id: number };

export interface RouteOpResult {
  /** Index into the batch. */
  index: number;
  /** 0 or a negative errno from the kernel. */
  errno: number;
}

export interface LinkInfo {
  index: number;
  name: string;
  up: boolean;
  mtu: number;
  /** The link type (IFLA_INFO_KIND: "wireguard", "veth"); absent where the kernel names none (a tun device). */
  kind?: string;
}

export interface LinkOps {
  link(name: string): Promise<LinkInfo | null>;
  links(): Promise<LinkInfo[]>;
  linkSetUp(name: string): Promise<void>;
  linkDelete(name: string): Promise<void>;
  /** IFLA_INET6_ADDR_GEN_MODE = none, so the kernel adds no random link-local (set before up). */
  linkSetAddrGenModeNone(name: string): Promise<void>;
  /** IFLA_MTU on an existing interface. */
  linkSetMtu(name: string, mtu: number): Promise<void>;
  /** Addresses with length: "10.255.0.0/31", "fe80::1/64". */
  addresses(name: string): Promise<string[]>;
  addressAdd(name: string, cidr: string): Promise<void>;
  addressDelete(name: string, cidr: string): Promise<void>;
}

export interface RouteOps {
  /** Routes in `table` carrying `protocol` (0: any) (both families), and `metric` when given. */
  routes(table: number, protocol: number, metric?: number): Promise<KernelRoute[]>;
  /**
   * routes() one at a time, nothing held: `visit` per route; `restart` when
   * the kernel interrupted the dump and it starts over (forget what was visited).
   */
  routesEach?(table: number, protocol: number, metric: number | undefined, visit: (r: KernelRoute) => void, restart: () => void): Promise<void>;
  /** Sends the whole batch in as few sendmsg calls as fit; each op's result is 0 or the kernel's error for it. */
  routeBatch(ops: RouteOp[]): Promise<RouteOpResult[]>;
  /**
   * The FIB entry a packet to `address` would use (policy rules included),
   * with its prefix, protocol, metric and paths; null when there is none.
   */
  routeLookup(address: string): Promise<KernelRoute | null>;
  /**
   * Calls `changed` with the protocol and table of every route the kernel
   * adds or deletes from now on (both families), and with null when
   * notifications were lost (receive queue overrun). Returns the stop.
   */
  watchRoutes?(changed: (route: { protocol: number; table: number } | null) => void, opts?: { ignoreProtocol?: number }): () => void;
  /** Every unicast route for exactly `prefix` in `table`, of any protocol and metric. */
  routesOf(prefix: string, table: number): Promise<KernelRoute[]>;
  /**
   * routeBatch for ops of one tag; returns only the ops that failed. With
   * `nhIds`, an add or replace whose nhIds[i] is not 0 names that nexthop
   * object (RTA_NH_ID) instead of carrying its next hops. With `advmss`,
   * every add or replace carries RTAX_ADVMSS = advmss[i] (a tunnel's MTU; 0: none);
   * with `hoplimit`, RTAX_HOPLIMIT = hoplimit[i] where it is not 0.
   */
  routeWrite(
    tag: RouteTag,
    ops: readonly RouteWrite[] | RouteWriteColumns,
    nhIds?: ArrayLike<number>,
    advmss?: ArrayLike<number>,
    hoplimit?: ArrayLike<number>,
  ): Promise<RouteOpResult[]>;
  /** Nexthop objects of `protocol` (0 or absent: all); rejects where the kernel has none (before Linux 5.3). */
  nexthopObjects?(protocol?: number): Promise<NexthopObject[]>;
  /** Writes nexthop objects in order, batched like routeWrite; returns only the ops that failed. */
  nexthopWrite?(ops: readonly NexthopWrite[]): Promise<RouteOpResult[]>;
}
