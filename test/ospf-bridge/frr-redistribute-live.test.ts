/**
 * BGP → OSPF against real FRR 8.4 in two namespaces: of the kernel routes the
 * agent installs with protocol 201, only the BGP ones (gateway = a neighbor's
 * tunnel address) become OSPF externals; the tunnel host routes (no gateway)
 * and the pinned endpoint routes (via the underlay) do not.
 *
 *   A ── wgt0 veth (OSPF, a neighbor with BGP and OSPF) ── B
 *   A ── und0 veth (the underlay, no OSPF) ─────────────── B
 *   A: wgt1 ifb (a BGP-only neighbor's tunnel, no OSPF)
 *
 *   wgt0 10.255.0.0/31 fd00:255::/127 — 10.255.0.1/31 fd00:255::1/127
 *   wgt1 10.255.1.0/31 fd00:255:1::/127 (peer .1 / ::1)
 *   und0 203.0.113.1/24 2001:db8:50::1/64 — 203.0.113.2/24 2001:db8:50::2/64
 *
 * ospfd takes `match ip next-hop prefix-list` (the peers' /32s); ospf6d has no
 * next-hop match, so one `match interface` entry per tunnel after a deny entry
 * for the tunnel host /128s. Hello 1 / dead 4.
 *
 * Needs root and FRR (/usr/lib/frr): skipped without them, except under
 * CI=true, where a missing prerequisite fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownedPart, parseRunningConfig } from '#ospf/frr-config';
import { FrrDriver } from '#ospf/frr-driver';
import type { OspfDesired, OspfInterface, OspfPrefixList, OspfRedistribution } from '#ospf/frr-model';
import { renderFrrConfig, renderText } from '#ospf/frr-render';
import type { OspfExternalLsa, OspfRoute } from '#ospf/frr-show';
import { createNamespaces, execIn, uniqueName, withVethPair } from '../lab/helpers/netns.js';
import { cleanupFrr, frrMissing, startFrr, type FrrNode } from './helpers/frr-netns.js';

const CI = process.env.CI === 'true';
const missing = frrMissing();
if (missing !== null && !CI) console.log(`ospf-bridge/frr-redistribute-live: skipped: ${missing}`);

const ROUTER_A = '10.10.1.1';
const ROUTER_B = '10.10.2.1';
const TAG = 201;
/** FRR's external metric when the route-map sets none. */
const DEFAULT_METRIC = 20;

function tunnel(name: string): OspfInterface {
  return {
    name,
    area: '0.0.0.0',
    cost: 10,
    helloInterval: 1,
    deadInterval: 4,
    passive: false,
    network: 'point-to-point',
    v4: true,
    v6: true,
    auth: null,
  };
}

/** The peers of A's BGP sessions: their tunnel address (v4, v6) and tunnel. */
const PEERS = [
  { ifname: 'wgt0', v4: '10.255.0.1', v6: 'fd00:255::1' },
  { ifname: 'wgt1', v4: '10.255.1.1', v6: 'fd00:255:1::1' },
] as const;
type Peer = (typeof PEERS)[number];

/** What the agent would hand the driver for these BGP peers. */
function desiredA(peers: readonly Peer[]): OspfDesired {
  const prefixLists: OspfPrefixList[] = [
    {
      name: 'WGBGP-PEERS4',
      family: 'ipv4',
      entries: peers.map((p, i) => ({ seq: 5 * (i + 1), action: 'permit', prefix: `${p.v4}/32` })),
    },
    {
      name: 'WGBGP-TUNNEL-HOSTS6',
      family: 'ipv6',
      entries: peers.map((p, i) => ({ seq: 5 * (i + 1), action: 'permit', prefix: `${p.v6}/128` })),
    },
  ];
  const v4: OspfRedistribution = {
    routeMap: 'WGBGP-TO-OSPF',
    tag: TAG,
    metricType: 2,
    metric: null,
    entries: [{ seq: 10, action: 'permit', match: [{ kind: 'ip-next-hop-prefix-list', list: 'WGBGP-PEERS4' }], set: true }],
  };
  const v6: OspfRedistribution = {
    routeMap: 'WGBGP-TO-OSPF6',
    tag: TAG,
    metricType: 2,
    metric: null,
    entries: [
      { seq: 5, action: 'deny', match: [{ kind: 'ipv6-address-prefix-list', list: 'WGBGP-TUNNEL-HOSTS6' }], set: false },
      ...peers.map((p, i) => ({
        seq: 10 * (i + 1),
        action: 'permit' as const,
        match: [{ kind: 'interface' as const, name: p.ifname }],
        set: true,
      })),
    ],
  };
  return {
    routerId: ROUTER_A,
    referenceBandwidth: null,
    v4: true,
    v6: true,
    redistribute: { kernel: v4, static: null, ospf6: { kernel: v6, static: null } },
    prefixLists,
    fpm: null,
    interfaces: [tunnel('wgt0')],
  };
}

const desiredB: OspfDesired = {
  routerId: ROUTER_B,
  referenceBandwidth: null,
  v4: true,
  v6: true,
  redistribute: { kernel: null, static: null },
  fpm: null,
  interfaces: [tunnel('wgt0')],
};

/** A's kernel routes with the agent's protocol and metric, as src/fib installs them. */
const KERNEL_ROUTES: readonly string[][] = [
  // BGP routes, gateway = the neighbor's tunnel address
  ['10.20.0.0/24', 'via', '10.255.0.1', 'dev', 'wgt0'],
  ['10.20.1.0/24', 'via', '10.255.1.1', 'dev', 'wgt1'],
  ['fd00:20::/48', 'via', 'fd00:255::1', 'dev', 'wgt0'],
  ['fd00:20:1::/48', 'via', 'fd00:255:1::1', 'dev', 'wgt1'],
  ['fd00:21:1::/48', 'via', 'fe80::1:1', 'dev', 'wgt1'],
  // tunnel host routes, no gateway
  ['10.255.0.1/32', 'dev', 'wgt0'],
  ['10.255.1.1/32', 'dev', 'wgt1'],
  ['fd00:255::1/128', 'dev', 'wgt0'],
  ['fd00:255:1::1/128', 'dev', 'wgt1'],
  // pinned endpoint routes via the underlay gateway
  ['198.51.100.2/32', 'via', '203.0.113.2', 'dev', 'und0'],
  ['2001:db8:100::2/128', 'via', '2001:db8:50::2', 'dev', 'und0'],
];

function external(prefix: string, forwardingAddress: string | null = null): OspfExternalLsa {
  return {
    family: prefix.includes(':') ? 'ipv6' : 'ipv4',
    prefix,
    advertisingRouter: ROUTER_A,
    metricType: 2,
    metric: DEFAULT_METRIC,
    tag: TAG,
    forwardingAddress,
  };
}

/** Everything redistributed with both peers: the BGP routes, nothing else. */
const BOTH_PEERS: readonly OspfExternalLsa[] = [
  // ospfd: the gateway is in the subnet of an OSPF interface, so it is the
  // forwarding address (RFC 2328 §12.4.4), also on a point-to-point link.
  external('10.20.0.0/24', '10.255.0.1'),
  external('10.20.1.0/24'),
  external('fd00:20:1::/48'),
  external('fd00:20::/48'),
  external('fd00:21:1::/48'),
];

/** Polls `read` until `done` holds; the timeout error shows the last value read. */
async function eventually<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await read();
      if (done(v)) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const externals = (list: OspfRoute[]): OspfRoute[] => list.filter((r) => r.type === 'external1' || r.type === 'external2');

describe.skipIf(missing !== null && !CI)('BGP → OSPF redistribution against live ospfd/ospf6d in namespaces', () => {
  const prefix = uniqueName('frrd');
  let a: FrrNode | undefined;
  let b: FrrNode | undefined;
  let driverA: FrrDriver;
  let driverB: FrrDriver;
  const fromA = async (): Promise<OspfExternalLsa[]> => (await driverB.ospfExternalLsas()).filter((l) => l.advertisingRouter === ROUTER_A);
  const same = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);

  beforeAll(async () => {
    if (missing !== null) throw new Error(`FRR live test prerequisite missing: ${missing}`);
    const [nsA, nsB] = (await createNamespaces(prefix)) as [string, string];
    await withVethPair(nsA, nsB, {
      nameA: 'wgt0',
      nameB: 'wgt0',
      addrA: ['10.255.0.0/31', 'fd00:255::/127'],
      addrB: ['10.255.0.1/31', 'fd00:255::1/127'],
    });
    await withVethPair(nsA, nsB, {
      nameA: 'und0',
      nameB: 'und0',
      addrA: ['203.0.113.1/24', '2001:db8:50::1/64'],
      addrB: ['203.0.113.2/24', '2001:db8:50::2/64'],
    });
    await execIn(nsA, ['ip', 'link', 'add', 'wgt1', 'type', 'ifb']);
    await execIn(nsA, ['ip', 'link', 'set', 'wgt1', 'up']);
    await execIn(nsA, ['ip', 'addr', 'add', '10.255.1.0/31', 'dev', 'wgt1']);
    await execIn(nsA, ['ip', 'addr', 'add', 'fd00:255:1::/127', 'dev', 'wgt1', 'nodad']);
    a = await startFrr(nsA);
    b = await startFrr(nsB);
    driverA = new FrrDriver(a.driverOptions());
    driverB = new FrrDriver(b.driverOptions());
    await driverB.apply(desiredB, []);
  }, 60_000);

  afterAll(async () => {
    await cleanupFrr(prefix, [a, b]);
  }, 60_000);

  it('apply: prefix-lists before the route-maps that match them, route-maps before `redistribute`; FRR prints it back as rendered', async () => {
    const r = await driverA.apply(desiredA(PEERS), []);
    const at = (c: string): number => r.commands.indexOf(c);
    expect(at('ip prefix-list WGBGP-PEERS4 seq 5 permit 10.255.0.1/32')).toBeGreaterThanOrEqual(0);
    expect(at('ip prefix-list WGBGP-PEERS4 seq 10 permit 10.255.1.1/32')).toBeLessThan(at('route-map WGBGP-TO-OSPF permit 10'));
    expect(at('ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 10 permit fd00:255:1::1/128')).toBeLessThan(at('route-map WGBGP-TO-OSPF6 deny 5'));
    expect(at('route-map WGBGP-TO-OSPF permit 10')).toBeLessThan(at('router ospf'));
    expect(at('route-map WGBGP-TO-OSPF6 permit 20')).toBeLessThan(at('router ospf6'));
    const owned = ownedPart(parseRunningConfig(await a!.vtysh('show running-config')), ['wgt0']);
    expect(renderText(owned)).toBe(renderFrrConfig(desiredA(PEERS)));
  });

  it('B: exactly the BGP routes arrive as type 2 externals tagged 201 (OSPFv3 tag from the LSDB); host and underlay routes do not', async () => {
    // As the agent does once its BGP sessions are up, after FRR is configured. ospfd
    // sets the forwarding address only if the interface ran OSPF when it originated
    // the LSA: a route that was there before would have none.
    for (const r of KERNEL_ROUTES) await execIn(a!.ns, ['ip', 'route', 'add', ...r, 'proto', '201', 'metric', '32']);
    await eventually('the externals of A on B', fromA, (list) => same(list, BOTH_PEERS), 40_000);
    // Its forwarding address is B's own 10.255.0.1: B, that route's BGP neighbor, does not install 10.20.0.0/24.
    const expected = [
      ['10.20.1.0/24', 'external2', DEFAULT_METRIC, TAG],
      ['fd00:20:1::/48', 'external2', DEFAULT_METRIC, null],
      ['fd00:20::/48', 'external2', DEFAULT_METRIC, null],
      ['fd00:21:1::/48', 'external2', DEFAULT_METRIC, null],
    ];
    const routes = await eventually(
      'the external routes on B',
      async () => externals(await driverB.ospfRoutes()).map((x) => [x.prefix, x.type, x.type2Cost, x.tag]),
      (list) => same(list, expected),
      20_000,
    );
    expect(routes).toEqual(expected);
    // The kernel of B holds them too (zebra installs OSPF routes), through A over the tunnel.
    const kernel = await execIn(b!.ns, ['ip', '-6', 'route', 'show', 'proto', 'ospf']);
    expect(kernel.stdout).toMatch(/^fd00:21:1::\/48 (nhid \d+ )?via fe80::\S+ dev wgt0 /m);
  }, 70_000);

  it('a no-op apply sends nothing', async () => {
    expect(await driverA.apply(desiredA(PEERS), ['wgt0'])).toEqual({ commands: [], exec: [], persisted: [] });
  });

  it('one peer gone: its route-map entry goes before its prefix-list entries, and its externals are withdrawn', async () => {
    const one = desiredA([PEERS[0]]);
    const r = await driverA.apply(one, ['wgt0']);
    expect(r.commands).toEqual([
      'no route-map WGBGP-TO-OSPF6 permit 20',
      'no ip prefix-list WGBGP-PEERS4 seq 10',
      'no ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 10',
    ]);
    const left = BOTH_PEERS.filter((l) => !['10.20.1.0/24', 'fd00:20:1::/48', 'fd00:21:1::/48'].includes(l.prefix));
    await eventually('the externals of peer 2 withdrawn on B', fromA, (list) => same(list, left), 40_000);
    const routes = async (): Promise<string[]> => externals(await driverB.ospfRoutes()).map((x) => x.prefix);
    await eventually('B\'s routes of peer 2 gone', routes, (l) => same(l, ['fd00:20::/48']), 20_000);
    expect(await driverA.apply(one, ['wgt0'])).toEqual({ commands: [], exec: [], persisted: [] });
  }, 60_000);

  it('redistribution off: `redistribute` goes first, then the route-maps, then the prefix-lists; nothing of A is left on B', async () => {
    const off: OspfDesired = { ...desiredB, routerId: ROUTER_A };
    const r = await driverA.apply(off, ['wgt0']);
    expect(r.commands).toEqual([
      'router ospf',
      'no redistribute kernel route-map WGBGP-TO-OSPF',
      'exit',
      'router ospf6',
      'no redistribute kernel route-map WGBGP-TO-OSPF6',
      'exit',
      'no route-map WGBGP-TO-OSPF permit 10',
      'no route-map WGBGP-TO-OSPF6 deny 5',
      'no route-map WGBGP-TO-OSPF6 permit 10',
      'no ip prefix-list WGBGP-PEERS4 seq 5',
      'no ipv6 prefix-list WGBGP-TUNNEL-HOSTS6 seq 5',
    ]);
    const running = await a!.vtysh('show running-config');
    expect(running).not.toMatch(/WGBGP-/);
    await eventually('no external of A on B', fromA, (list) => list.length === 0, 40_000);
  }, 60_000);
});
