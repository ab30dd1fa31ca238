/**
 * OspfDesired → FRR configuration text, pinned by golden files under
 * test/fixtures/frr (render-*.conf for desired-*.json). The goldens are
 * spelled as FRR 8.4.4's `show running-config` prints the same lines (the
 * live test checks that against a running FRR). To refresh them after a
 * deliberate change: WGBGP_UPDATE_GOLDEN=1 npx vitest run test/ospf-bridge/frr-render
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MANAGED_ROUTE_MAP_PREFIX, secretsOf, validateOspfDesired, type OspfDesired, type OspfInterface } from '#ospf/frr-model';
import { renderFrrConfig, renderOwned, renderText } from '#ospf/frr-render';

const FIXTURES = new URL('../fixtures/frr/', import.meta.url).pathname;
const UPDATE = process.env.WGBGP_UPDATE_GOLDEN === '1';

function desired(name: string): OspfDesired {
  return JSON.parse(readFileSync(`${FIXTURES}desired-${name}.json`, 'utf8')) as OspfDesired;
}

function iface(over: Partial<OspfInterface> = {}): OspfInterface {
  return {
    name: 'wg0',
    area: '0.0.0.0',
    cost: null,
    helloInterval: 10,
    deadInterval: 40,
    passive: false,
    network: 'point-to-point',
    v4: true,
    v6: true,
    auth: null,
    ...over,
  };
}

function base(over: Partial<OspfDesired> = {}): OspfDesired {
  return {
    routerId: '192.0.2.1',
    referenceBandwidth: null,
    v4: true,
    v6: true,
    redistribute: { kernel: null, static: null },
    fpm: null,
    interfaces: [iface()],
    ...over,
  };
}

describe('render: golden files', () => {
  for (const name of ['full', 'minimal', 'v6-static']) {
    it(`desired-${name}.json renders exactly render-${name}.conf`, () => {
      const d = desired(name);
      expect(validateOspfDesired(d)).toEqual([]);
      const text = renderFrrConfig(d);
      const golden = `${FIXTURES}render-${name}.conf`;
      if (UPDATE) writeFileSync(golden, text);
      expect(text).toBe(readFileSync(golden, 'utf8'));
    });
  }
});

describe('render: what each setting becomes', () => {
  it('interface lines come in the byte order vtysh prints them, interfaces by name', () => {
    const owned = renderOwned(base({ interfaces: [iface({ name: 'wg1', cost: 5, passive: true }), iface({ name: 'wg0' })] }));
    expect([...owned.interfaces.keys()]).toEqual(['wg0', 'wg1']);
    const lines = owned.interfaces.get('wg1')!;
    expect(lines).toEqual([...lines].sort());
    expect(lines).toEqual([
      'ip ospf area 0.0.0.0',
      'ip ospf cost 5',
      'ip ospf network point-to-point',
      'ip ospf passive',
      'ipv6 ospf6 area 0.0.0.0',
      'ipv6 ospf6 cost 5',
      'ipv6 ospf6 network point-to-point',
      'ipv6 ospf6 passive',
    ]);
  });

  it('timers at FRR 8.4 defaults (hello 10, dead 40) are left out: FRR would not print them back', () => {
    const lines = renderOwned(base()).interfaces.get('wg0')!;
    expect(lines.some((l) => l.includes('interval'))).toBe(false);
    const fast = renderOwned(base({ interfaces: [iface({ helloInterval: 1, deadInterval: 40 })] })).interfaces.get('wg0')!;
    expect(fast).toContain('ip ospf hello-interval 1');
    expect(fast).toContain('ipv6 ospf6 hello-interval 1');
    expect(fast.some((l) => l.includes('dead-interval'))).toBe(false);
  });

  it('the interface form of the area only: never `network … area …` in router ospf', () => {
    const text = renderFrrConfig(desired('full'));
    expect(text).toMatch(/^ ip ospf area 0\.0\.0\.0$/m);
    expect(text).not.toMatch(/^ network /m);
  });

  it('a family off on an interface has no lines of that family; off on the router, no router stanza', () => {
    const owned = renderOwned(base({ v6: false, interfaces: [iface({ v6: false })] }));
    expect(owned.interfaces.get('wg0')!.every((l) => l.startsWith('ip ospf '))).toBe(true);
    expect(owned.routerOspf6).toBeNull();
    expect(owned.routerOspf).toEqual(['ospf router-id 192.0.2.1']);
  });

  it('an interface with neither family renders no stanza', () => {
    const owned = renderOwned(base({ interfaces: [iface({ v4: false, v6: false })] }));
    expect(owned.interfaces.get('wg0')).toEqual([]);
    expect(renderText(owned)).not.toContain('interface wg0');
  });

  it('BGP → OSPF: redistribute with the route-map in both routers, and the route-map setting tag and metric type', () => {
    const d = base({ redistribute: { kernel: { routeMap: 'WGBGP-TO-OSPF', tag: 4242, metricType: 2, metric: null }, static: null } });
    const owned = renderOwned(d);
    expect(owned.routerOspf).toContain('redistribute kernel route-map WGBGP-TO-OSPF');
    expect(owned.routerOspf6).toContain('redistribute kernel route-map WGBGP-TO-OSPF');
    expect(owned.routeMaps).toEqual(new Map([['route-map WGBGP-TO-OSPF permit 10', ['set metric-type type-2', 'set tag 4242']]]));
  });

  it('kernel and static may share one route-map; both families off renders no route-map', () => {
    const r = { routeMap: 'WGBGP-X', tag: 201, metricType: 1 as const, metric: 7 };
    const d = base({ redistribute: { kernel: r, static: { ...r } } });
    expect(validateOspfDesired(d)).toEqual([]);
    const owned = renderOwned(d);
    expect([...owned.routeMaps.keys()]).toEqual(['route-map WGBGP-X permit 10']);
    expect(owned.routerOspf).toEqual(['ospf router-id 192.0.2.1', 'redistribute kernel route-map WGBGP-X', 'redistribute static route-map WGBGP-X']);
    const off = renderOwned({ ...d, v4: false, v6: false, interfaces: [] });
    expect(off.routeMaps.size).toBe(0);
  });

  it('fpm: zebra leaves the default port out; IPv6 addresses in inet_ntop spelling', () => {
    expect(renderOwned(base({ fpm: { address: '127.0.0.1', port: 2620 } })).fpm).toEqual([
      'fpm address 127.0.0.1',
      'no fpm use-next-hop-groups',
    ]);
    expect(renderOwned(base({ fpm: { address: '2001:DB8:0::1', port: 9999 } })).fpm[0]).toBe('fpm address 2001:db8::1 port 9999');
  });

  it('nothing desired renders nothing', () => {
    expect(renderFrrConfig(base({ v4: false, v6: false, interfaces: [] }))).toBe('');
  });
});

describe('validateOspfDesired', () => {
  it('accepts the fixtures', () => {
    for (const name of ['full', 'minimal', 'v6-static']) expect(validateOspfDesired(desired(name))).toEqual([]);
  });

  it('names the key path and the reason of every problem', () => {
    const d = base({
      routerId: '1.2.3',
      referenceBandwidth: 0,
      redistribute: { kernel: { routeMap: 'OTHER', tag: 0, metricType: 2, metric: null }, static: null },
      fpm: { address: 'localhost', port: 0 },
      interfaces: [
        iface({ name: 'wg 0', area: '0', cost: 0, helloInterval: 10, deadInterval: 10 }),
        iface({ name: 'wg1', auth: { v2: { type: 'md5', keyId: 0, key: 'seventeen-bytes!!' }, v3: { keyId: 1, key: 'a b', algorithm: 'hmac-sha-256' } } }),
        iface({ name: 'wg1' }),
      ],
    });
    expect(validateOspfDesired(d)).toEqual([
      'routerId: must be a dotted quad, got "1.2.3"',
      'referenceBandwidth: must be 1..4294967 (Mbit/s) or null',
      `redistribute.kernel.routeMap: must start with ${MANAGED_ROUTE_MAP_PREFIX} and use only letters, digits, '_', '.', '-'`,
      'redistribute.kernel.tag: must be 1..4294967295 or null',
      'fpm.address: must be an IP address',
      'fpm.port: must be 1..65535',
      'interfaces[0].name: not an interface name FRR and Linux both take: "wg 0"',
      'interfaces[0].area: must be a dotted quad, got "0"',
      'interfaces[0].cost: must be 1..65535 or null',
      'interfaces[0].deadInterval: must be longer than helloInterval',
      'interfaces[1].auth.v2.keyId: must be 1..255',
      'interfaces[1].auth.v2.key: must be 1..16 printable ASCII characters without blanks',
      'interfaces[1].auth.v3.key: must be 1..64 printable ASCII characters without blanks',
      'interfaces[2].name: wg1 is listed twice',
    ]);
  });

  it('refuses a newline anywhere it would reach vtysh (one -c argument must stay one command)', () => {
    expect(validateOspfDesired(base({ interfaces: [iface({ name: 'wg0\nno router ospf' })] }))).toHaveLength(1);
    const auth = { v2: { type: 'md5' as const, keyId: 1, key: 'k\nend' }, v3: null };
    expect(validateOspfDesired(base({ interfaces: [iface({ auth })] }))).toEqual([
      'interfaces[0].auth.v2.key: must be 1..16 printable ASCII characters without blanks',
    ]);
  });

  it('an interface family needs the router family; one route-map name cannot carry two settings', () => {
    const r = { routeMap: 'WGBGP-X', tag: 201, metricType: 2 as const, metric: null };
    expect(
      validateOspfDesired(base({ v6: false, interfaces: [iface()], redistribute: { kernel: r, static: { ...r, tag: 202 } } })),
    ).toEqual(['redistribute.static.routeMap: WGBGP-X is also used with other settings', 'interfaces[0].v6: OSPFv3 on the interface needs v6 on']);
  });

  it('secretsOf lists every key, for redaction', () => {
    expect(secretsOf(desired('full'))).toEqual(['s3cr3t-md5', 's3cr3t-sha']);
  });
});
