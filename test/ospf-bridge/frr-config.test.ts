/**
 * `show running-config` → stanzas → the owned part → the vtysh commands,
 * frr-reload style: only the OSPF lines of managed interfaces, the router
 * stanzas, WGBGP- route-maps and the fpm lines ever appear in a plan.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  diffLines,
  isEmptyPlan,
  negate,
  normalizeLine,
  ownedPart,
  parseRunningConfig,
  planApply,
  planChanges,
  redact,
  type PlanContext,
} from '#ospf/frr-config';
import type { OspfDesired, OspfInterface } from '#ospf/frr-model';
import { renderFrrConfig, renderOwned } from '#ospf/frr-render';

const FIXTURES = new URL('../fixtures/frr/', import.meta.url).pathname;
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');
const desiredFixture = (name: string): OspfDesired => JSON.parse(fixture(`desired-${name}.json`)) as OspfDesired;

function iface(over: Partial<OspfInterface> = {}): OspfInterface {
  return {
    name: 'wg0',
    area: '0.0.0.0',
    cost: 10,
    helloInterval: 1,
    deadInterval: 4,
    passive: false,
    network: 'point-to-point',
    v4: true,
    v6: true,
    auth: null,
    ...over,
  };
}

function desired(over: Partial<OspfDesired> = {}): OspfDesired {
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

/** What vtysh would print if FRR held exactly `d` (plus lines the driver does not own). */
function runningOf(d: OspfDesired, extra = ''): string {
  return `Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nhostname r1\n!\n${extra}${renderFrrConfig(d)}end\n`;
}

const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  pointToPoint: new Set(),
  effectiveRouterId: { v4: null, v6: null },
  ...over,
});

describe('parseRunningConfig', () => {
  const parsed = parseRunningConfig(fixture('running-config-mixed.txt'));

  it('top-level lines: everything outside a stanza, preamble dropped', () => {
    expect(parsed.topLevel).toEqual([
      'frr version 8.4.4',
      'frr defaults traditional',
      'hostname r1',
      'log syslog informational',
      'no ip forwarding',
      'no ipv6 forwarding',
      'fpm address 127.0.0.1 port 2699',
      'service integrated-vtysh-config',
      'ip route 198.51.100.0/24 Null0',
      'line vty',
    ]);
  });

  it('stanzas end at `exit`; nested blocks keep their own indentation', () => {
    expect(parsed.stanzas.map((s) => s.header)).toEqual([
      'interface eth0',
      'interface wg-site-b',
      'interface wg-gone',
      'router bgp 65001',
      'router ospf',
      'router ospf6',
      'route-map OPERATOR permit 10',
      'route-map WGBGP-TO-OSPF permit 10',
      'route-map WGBGP-OLD permit 10',
    ]);
    expect(parsed.stanzas[3]!.lines).toEqual([
      'bgp router-id 192.0.2.1',
      'neighbor 10.0.0.2 remote-as 65002',
      'address-family ipv4 unicast',
      ' network 10.1.0.0/24',
      'exit-address-family',
    ]);
  });

  it('reads the real output of FRR 8.4.4 (fixture captured in a namespace)', () => {
    const real = parseRunningConfig(fixture('running-config-b.txt'));
    expect(real.stanzas.find((s) => s.header === 'router ospf')?.lines).toEqual([
      'ospf router-id 10.10.2.1',
      'auto-cost reference-bandwidth 200',
      'redistribute kernel route-map WGBGP-M',
    ]);
    expect(real.stanzas.filter((s) => s.header.startsWith('interface ')).map((s) => s.header)).toEqual([
      'interface lan',
      'interface lan2',
      'interface tun0',
    ]);
  });

  it('an empty stanza closed by exit is a stanza; frr.conf without the show preamble parses too', () => {
    const p = parseRunningConfig('interface wg0\nexit\n!\nrouter ospf\n ospf router-id 1.1.1.1\n!\n');
    expect(p.stanzas).toEqual([
      { header: 'interface wg0', lines: [] },
      { header: 'router ospf', lines: ['ospf router-id 1.1.1.1'] },
    ]);
  });
});

describe('ownedPart', () => {
  const running = parseRunningConfig(fixture('running-config-mixed.txt'));

  it('only OSPF lines of interfaces in scope; areas as dotted quads; WGBGP- route-maps; fpm lines', () => {
    const owned = ownedPart(running, ['wg-site-b', 'wg-gone', 'wg-new']);
    expect(owned.interfaces.get('wg-site-b')).toEqual([
      'ip ospf area 0.0.0.0',
      'ip ospf authentication message-digest',
      'ip ospf cost 20',
      'ip ospf dead-interval 4',
      'ip ospf hello-interval 1',
      'ip ospf message-digest-key 1 md5 old-md5-key',
      'ipv6 ospf6 area 0.0.0.0',
      'ipv6 ospf6 dead-interval 4',
      'ipv6 ospf6 hello-interval 1',
      'ipv6 ospf6 network point-to-point',
    ]);
    expect(owned.interfaces.get('wg-new')).toEqual([]);
    expect(owned.interfaces.has('eth0')).toBe(false);
    // By name, not in FRR's creation order: a re-read renders like the desired state.
    expect([...owned.routeMaps.keys()]).toEqual(['route-map WGBGP-OLD permit 10', 'route-map WGBGP-TO-OSPF permit 10']);
    expect(owned.fpm).toEqual(['fpm address 127.0.0.1 port 2699']);
    expect(owned.routerOspf6).toEqual(['ospf6 router-id 192.0.2.1']);
  });

  it('absent router stanzas are null', () => {
    const owned = ownedPart(parseRunningConfig('Current configuration:\n!\nhostname x\n!\nend\n'), []);
    expect(owned.routerOspf).toBeNull();
    expect(owned.routerOspf6).toBeNull();
  });
});

describe('plan: diff cases', () => {
  it('no-op: FRR already holds the rendering → zero commands', () => {
    for (const name of ['full', 'minimal', 'v6-static']) {
      const d = desiredFixture(name);
      expect(planApply(runningOf(d), d, [], ctx())).toEqual({ config: [], exec: [] });
    }
  });

  it('no-op on a POINTOPOINT link, where ospfd does not print `ip ospf network point-to-point`', () => {
    const d = desired();
    const text = runningOf(d).replace(' ip ospf network point-to-point\n', '');
    expect(planApply(text, d, [], ctx({ pointToPoint: new Set(['wg0']) }))).toEqual({ config: [], exec: [] });
    // The same text on a broadcast link (a linux-cp tap) needs the line.
    expect(planApply(text, d, [], ctx()).config).toEqual(['interface wg0', 'ip ospf network point-to-point', 'exit']);
  });

  it('changed cost: set in place, both families, nothing removed (the adjacency stays)', () => {
    const before = desired();
    const after = desired({ interfaces: [iface({ cost: 25 })] });
    expect(planApply(runningOf(before), after, ['wg0'], ctx()).config).toEqual([
      'interface wg0',
      'ip ospf cost 25',
      'ipv6 ospf6 cost 25',
      'exit',
    ]);
  });

  it('cost back to automatic: the cost lines are removed', () => {
    const after = desired({ interfaces: [iface({ cost: null })] });
    expect(planApply(runningOf(desired()), after, ['wg0'], ctx()).config).toEqual([
      'interface wg0',
      'no ip ospf cost 10',
      'no ipv6 ospf6 cost 10',
      'exit',
    ]);
  });

  it('removed interface: its OSPF lines go, its other lines (description) stay', () => {
    const extra = 'interface wg-old\n description keep-me\n ip ospf area 0.0.0.0\n ip ospf cost 5\n ipv6 ospf6 area 0.0.0.0\nexit\n!\n';
    const plan = planApply(runningOf(desired(), extra), desired(), ['wg0', 'wg-old'], ctx());
    expect(plan.config).toEqual(['interface wg-old', 'no ip ospf area 0.0.0.0', 'no ip ospf cost 5', 'no ipv6 ospf6 area 0.0.0.0', 'exit']);
    expect(plan.config.join('\n')).not.toContain('description');
  });

  it('an interface never managed is never touched, even with OSPF lines of its own', () => {
    const extra = 'interface eth0\n ip ospf area 0.0.0.0\n ip ospf passive\nexit\n!\n';
    expect(planApply(runningOf(desired(), extra), desired(), [], ctx())).toEqual({ config: [], exec: [] });
  });

  it('new area: the old one is removed first (ospfd refuses a change in place, ospf6d ignores it)', () => {
    const after = desired({ interfaces: [iface({ area: '0.0.0.1' })] });
    expect(planApply(runningOf(desired()), after, ['wg0'], ctx()).config).toEqual([
      'interface wg0',
      'no ip ospf area 0.0.0.0',
      'no ipv6 ospf6 area 0.0.0.0',
      'ip ospf area 0.0.0.1',
      'ipv6 ospf6 area 0.0.0.1',
      'exit',
    ]);
  });

  it('an area written as a number by hand ("0") equals 0.0.0.0', () => {
    const text = runningOf(desired()).replace('ip ospf area 0.0.0.0', 'ip ospf area 0');
    expect(planApply(text, desired(), [], ctx()).config).toEqual([]);
    expect(normalizeLine('ip ospf area 4294967295')).toBe('ip ospf area 255.255.255.255');
  });

  it('router-id change: the line in place, then `clear … process` (FRR only stores it while the instance runs)', () => {
    const before = desired();
    const after = desired({ routerId: '192.0.2.99' });
    const plan = planApply(runningOf(before), after, [], ctx({ effectiveRouterId: { v4: '192.0.2.1', v6: '192.0.2.1' } }));
    expect(plan).toEqual({
      config: ['router ospf', 'ospf router-id 192.0.2.99', 'exit', 'router ospf6', 'ospf6 router-id 192.0.2.99', 'exit'],
      exec: ['clear ip ospf process', 'clear ipv6 ospf6 process'],
    });
  });

  it('router-id: no clear for a new instance (the router-id is set before any interface starts it)', () => {
    const plan = planApply('Current configuration:\n!\nend\n', desired(), [], ctx());
    expect(plan.exec).toEqual([]);
    expect(plan.config.slice(0, 3)).toEqual(['router ospf', 'ospf router-id 192.0.2.1', 'exit']);
    expect(plan.config.indexOf('router ospf6')).toBeLessThan(plan.config.indexOf('interface wg0'));
  });

  it('router-id configured but not in effect (an apply cut short before the clear): only the clear', () => {
    const plan = planApply(runningOf(desired()), desired(), [], ctx({ effectiveRouterId: { v4: '10.255.0.1', v6: '192.0.2.1' } }));
    expect(plan).toEqual({ config: [], exec: ['clear ip ospf process'] });
    expect(isEmptyPlan(plan)).toBe(false);
  });

  it('`network … area` in router ospf (it conflicts with `ip ospf area`) is removed before interfaces are configured', () => {
    const text = runningOf(desired({ interfaces: [] })).replace('router ospf\n', 'router ospf\n network 10.0.0.0/8 area 0.0.0.0\n');
    const plan = planApply(text, desired(), [], ctx()).config;
    expect(plan.indexOf('no network 10.0.0.0/8 area 0.0.0.0')).toBeGreaterThan(-1);
    expect(plan.indexOf('no network 10.0.0.0/8 area 0.0.0.0')).toBeLessThan(plan.indexOf('ip ospf area 0.0.0.0'));
  });

  it('IPv6 turned off: the ospf6 lines of managed interfaces go, then `no router ospf6`, last', () => {
    const after = desired({ v6: false, interfaces: [iface({ v6: false })] });
    const plan = planApply(runningOf(desired()), after, ['wg0'], ctx()).config;
    expect(plan).toEqual([
      'interface wg0',
      'no ipv6 ospf6 area 0.0.0.0',
      'no ipv6 ospf6 cost 10',
      'no ipv6 ospf6 dead-interval 4',
      'no ipv6 ospf6 hello-interval 1',
      'no ipv6 ospf6 network point-to-point',
      'exit',
      'no router ospf6',
    ]);
  });

  it('route-maps: defined before redistribute uses them; a tag change in place; stale WGBGP- maps removed after; others untouched', () => {
    const r = { routeMap: 'WGBGP-TO-OSPF', tag: 201, metricType: 2 as const, metric: null };
    const extra = 'route-map OPERATOR permit 10\n set tag 7\nexit\n!\nroute-map WGBGP-OLD permit 10\n set tag 1\nexit\n!\n';
    const before = desired({ redistribute: { kernel: r, static: null } });
    const after = desired({ redistribute: { kernel: { ...r, tag: 301 }, static: { ...r, tag: 301 } } });
    expect(planApply(runningOf(before, extra), after, [], ctx()).config).toEqual([
      'route-map WGBGP-TO-OSPF permit 10',
      'set tag 301',
      'exit',
      'router ospf',
      'redistribute static route-map WGBGP-TO-OSPF',
      'exit',
      'router ospf6',
      'redistribute static route-map WGBGP-TO-OSPF',
      'exit',
      'no route-map WGBGP-OLD permit 10',
    ]);
    const fresh = planApply('Current configuration:\n!\nend\n', after, [], ctx()).config;
    expect(fresh.indexOf('route-map WGBGP-TO-OSPF permit 10')).toBeLessThan(fresh.indexOf('router ospf'));
  });

  it('authentication: a new MD5 key for the same id in place; a new key id removes the old one (by id, not by key)', () => {
    const auth = (keyId: number, key: string): OspfInterface['auth'] => ({ v2: { type: 'md5', keyId, key }, v3: null });
    const before = desired({ interfaces: [iface({ v6: false, auth: auth(1, 'old-key') })], v6: false });
    const sameId = desired({ interfaces: [iface({ v6: false, auth: auth(1, 'new-key') })], v6: false });
    const newId = desired({ interfaces: [iface({ v6: false, auth: auth(2, 'new-key') })], v6: false });
    expect(planApply(runningOf(before), sameId, [], ctx()).config).toEqual(['interface wg0', 'ip ospf message-digest-key 1 md5 new-key', 'exit']);
    expect(planApply(runningOf(before), newId, [], ctx()).config).toEqual([
      'interface wg0',
      'no ip ospf message-digest-key 1',
      'ip ospf message-digest-key 2 md5 new-key',
      'exit',
    ]);
  });

  it('fpm: off removes the address and restores next-hop groups; a port change is one command', () => {
    const on = desired({ fpm: { address: '127.0.0.1', port: 2620 } });
    expect(planApply(runningOf(on), desired(), [], ctx()).config).toEqual(['no fpm address', 'fpm use-next-hop-groups']);
    expect(planApply(runningOf(on), desired({ fpm: { address: '127.0.0.1', port: 2621 } }), [], ctx()).config).toEqual([
      'fpm address 127.0.0.1 port 2621',
    ]);
  });

  it('the mixed fixture against desired-full: every owned difference, in order, nothing else', () => {
    const plan = planApply(fixture('running-config-mixed.txt'), desiredFixture('full'), ['wg-gone'], {
      pointToPoint: new Set(['wg-site-b']),
      effectiveRouterId: { v4: '192.0.2.1', v6: '192.0.2.9' },
    });
    expect(plan.config).toEqual([
      'fpm address 127.0.0.1',
      'no fpm use-next-hop-groups',
      'route-map WGBGP-TO-OSPF permit 10',
      'set tag 201',
      'exit',
      'router ospf',
      'no network 10.9.0.0/16 area 0.0.0.0',
      'auto-cost reference-bandwidth 1000',
      'exit',
      'router ospf6',
      'auto-cost reference-bandwidth 1000',
      'redistribute kernel route-map WGBGP-TO-OSPF',
      'exit',
      'interface lan0',
      'ip ospf area 0.0.0.0',
      'ip ospf cost 1',
      'ip ospf network point-to-point',
      'ip ospf passive',
      'ipv6 ospf6 area 0.0.0.0',
      'ipv6 ospf6 cost 1',
      'ipv6 ospf6 network point-to-point',
      'ipv6 ospf6 passive',
      'exit',
      'interface wg-gone',
      'no ip ospf area 0.0.0.0',
      'no ip ospf bfd',
      'no ip ospf network point-to-point',
      'no ipv6 ospf6 area 0.0.0.0',
      'exit',
      'interface wg-site-b',
      'ip ospf cost 10',
      'ip ospf message-digest-key 1 md5 s3cr3t-md5',
      'ipv6 ospf6 authentication key-id 7 hash-algo hmac-sha-256 key s3cr3t-sha',
      'ipv6 ospf6 cost 10',
      'exit',
      'interface wg-site-c',
      'ip ospf area 0.0.0.1',
      'ip ospf network point-to-point',
      'exit',
      'no route-map WGBGP-OLD permit 10',
    ]);
    expect(plan.exec).toEqual(['clear ipv6 ospf6 process']);
  });
});

describe('plan: properties', () => {
  const name = fc.constantFrom('wg0', 'wg1', 'wg-b', 'lan0');
  const ifaceArb: fc.Arbitrary<OspfInterface> = fc.record({
    name,
    area: fc.constantFrom('0.0.0.0', '0.0.0.1', '10.0.0.0'),
    cost: fc.option(fc.integer({ min: 1, max: 65535 })),
    helloInterval: fc.integer({ min: 1, max: 12 }),
    deadInterval: fc.integer({ min: 13, max: 60 }),
    passive: fc.boolean(),
    network: fc.constant('point-to-point' as const),
    v4: fc.boolean(),
    v6: fc.boolean(),
    auth: fc.option(
      fc.record({
        v2: fc.option(fc.record({ type: fc.constant('md5' as const), keyId: fc.integer({ min: 1, max: 255 }), key: fc.constantFrom('k1', 'secret-16-bytes!') })),
        v3: fc.option(fc.record({ keyId: fc.integer({ min: 1, max: 65535 }), key: fc.constantFrom('k3', 'other'), algorithm: fc.constantFrom('hmac-sha-256' as const, 'md5' as const) })),
      }),
    ),
  });
  const redis = fc.option(
    fc.record({
      routeMap: fc.constantFrom('WGBGP-TO-OSPF', 'WGBGP-B'),
      tag: fc.option(fc.integer({ min: 1, max: 0xffffffff })),
      metricType: fc.constantFrom(1 as const, 2 as const),
      metric: fc.option(fc.integer({ min: 0, max: 16777214 })),
    }),
  );
  const desiredArb: fc.Arbitrary<OspfDesired> = fc
    .record({
      routerId: fc.constantFrom('192.0.2.1', '10.0.0.1'),
      referenceBandwidth: fc.option(fc.integer({ min: 1, max: 4294967 })),
      redistribute: fc.record({ kernel: redis, static: fc.constant(null) }),
      fpm: fc.option(fc.record({ address: fc.constantFrom('127.0.0.1', '::1'), port: fc.constantFrom(2620, 2621) })),
      interfaces: fc.uniqueArray(ifaceArb, { selector: (i) => i.name, maxLength: 4 }),
    })
    .map((d) => ({ ...d, v4: d.interfaces.some((i) => i.v4) || d.interfaces.length === 0, v6: d.interfaces.some((i) => i.v6) }));

  it('a running configuration equal to the rendering plans nothing', () => {
    fc.assert(
      fc.property(desiredArb, (d) => {
        expect(planApply(runningOf(d), d, d.interfaces.map((i) => i.name), ctx())).toEqual({ config: [], exec: [] });
      }),
    );
  });

  it('from any rendering to any other, commands touch only owned stanzas and OSPF lines', () => {
    fc.assert(
      fc.property(desiredArb, desiredArb, (a, b) => {
        const extra = 'interface wg0\n description keep-me\nexit\n!\nroute-map OPERATOR permit 10\n set tag 7\nexit\n!\n';
        const plan = planApply(runningOf(a, extra), b, a.interfaces.map((i) => i.name), ctx());
        let header = '';
        for (const c of plan.config) {
          if (/^(interface |router ospf6?$|route-map )/.test(c)) {
            header = c;
            expect(c).not.toContain('OPERATOR');
            continue;
          }
          if (c === 'exit') {
            header = '';
            continue;
          }
          if (header.startsWith('interface ')) expect(c).toMatch(/^(no )?(ip ospf|ipv6 ospf6) /);
          else if (header === '') expect(c).toMatch(/^(no (router ospf6?|route-map WGBGP-\S+ permit 10)|(no )?fpm (address|use-next-hop-groups)|fpm address .*)$/);
        }
      }),
    );
  });

  it('planning twice over the result of planChanges is stable: the rendered target planned against itself is empty', () => {
    fc.assert(
      fc.property(desiredArb, (d) => {
        const owned = renderOwned(d);
        expect(planChanges(owned, owned, ctx())).toEqual({ config: [], exec: [] });
      }),
    );
  });
});

describe('negate and diffLines', () => {
  it('`no` + the line, except forms FRR 8.4 does not take whole or that would echo a key', () => {
    expect(negate('ip ospf cost 10')).toBe('no ip ospf cost 10');
    expect(negate('ip ospf message-digest-key 3 md5 abc')).toBe('no ip ospf message-digest-key 3');
    expect(negate('ip ospf authentication-key abc')).toBe('no ip ospf authentication-key');
    expect(negate('fpm address 127.0.0.1 port 2621')).toBe('no fpm address');
    expect(negate('no fpm use-next-hop-groups')).toBe('fpm use-next-hop-groups');
    // ospf6d needs the whole trailer line back (checked: `no ipv6 ospf6 authentication` is "Command incomplete").
    expect(negate('ipv6 ospf6 authentication key-id 3 hash-algo hmac-sha-256 key abc')).toBe(
      'no ipv6 ospf6 authentication key-id 3 hash-algo hmac-sha-256 key abc',
    );
  });

  it('removals before sets; unknown lines are compared whole', () => {
    expect(diffLines(['ip ospf cost 1', 'ip ospf mtu-ignore'], ['ip ospf cost 2', 'ip ospf bfd'])).toEqual([
      'no ip ospf mtu-ignore',
      'ip ospf cost 2',
      'ip ospf bfd',
    ]);
  });
});

describe('redact', () => {
  it('hides every key in FRR syntax, and given secrets anywhere', () => {
    const text = [
      'ip ospf message-digest-key 1 md5 s3cr3t-md5',
      'ipv6 ospf6 authentication key-id 7 hash-algo hmac-sha-256 key s3cr3t-sha',
      'ip ospf authentication-key plain',
      '% Unknown command: something s3cr3t-sha',
    ].join('\n');
    const out = redact(text, ['s3cr3t-sha', 'ab']);
    expect(out).toBe(
      [
        'ip ospf message-digest-key 1 md5 <redacted>',
        'ipv6 ospf6 authentication key-id 7 hash-algo hmac-sha-256 key <redacted>',
        'ip ospf authentication-key <redacted>',
        '% Unknown command: something <redacted>',
      ].join('\n'),
    );
  });

  it('the rendered full fixture keeps no key after redaction', () => {
    const out = redact(renderFrrConfig(desiredFixture('full')));
    expect(out).not.toContain('s3cr3t');
  });
});
