/**
 * The OSPF bridge (issue 9) between the agent, FRR and zebra's FPM stream:
 * the FRR configuration it derives from the agent's config, applies, and
 * retries while FRR is absent; the routes it takes from a client playing
 * zebra (the captured FRR 8.4.4 stream) with interface names for the FIB.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import type { NeighborConfig, OspfConfig } from '#config/types';
import { BGP_NEXTHOPS, BGP_TO_OSPF, OspfBridge, ospfDesired, TUNNEL_HOSTS6, RETRY_MS, TYPES_DEBOUNCE_MS, type FrrControl, type OspfRouteUpdate } from '#ospf/bridge';
import { validateOspfDesired, type OspfDesired } from '#ospf/frr-model';
import type { ApplyResult, FrrAvailability } from '#ospf/frr-driver';
import type { OspfRoute } from '#ospf/frr-show';

const OSPF: OspfConfig = {
  routerId: '192.0.2.1',
  referenceBandwidth: 10_000,
  distance: 110,
  redistributeBgp: true,
  externalTag: 201,
  frr: { vtysh: '/usr/bin/vtysh', pathspace: null, fpmListen: '127.0.0.1:2620' },
};

function neighbor(name: string, over: Partial<NeighborConfig> = {}): NeighborConfig {
  return {
    name,
    interface: `wg-${name}`,
    publicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
    endpoint: null,
    listenPort: null,
    persistentKeepalive: 0, mtu: 1420,
    tunnel: { local: ['10.255.0.0/31'], remote: ['10.255.0.1'] },
    sourceAddress: null,
    bgp: null,
    ospf: { area: '0.0.0.0', cost: 10, helloInterval: 1, deadInterval: 4, passive: false, authentication: { keyId: 1, key: 's3cret' } },
    ...over,
  };
}

class ScriptedFrr implements FrrControl {
  up = true;
  applied: { desired: OspfDesired; previouslyManaged: readonly string[] }[] = [];
  async available(): Promise<FrrAvailability> {
    return this.up ? { ok: true, version: '8.4.4', daemons: ['zebra', 'ospfd', 'ospf6d'], fpmModule: true } : { ok: false, reason: 'ospfd is not running' };
  }
  async apply(desired: OspfDesired, previouslyManaged: readonly string[]): Promise<ApplyResult> {
    this.applied.push({ desired, previouslyManaged });
    return { commands: ['interface wg-b'], exec: [], persisted: [] };
  }
  async ospfNeighbors(): Promise<never[]> {
    return [];
  }
  routeTypes = new Map<string, OspfRoute['type']>();
  async ospfRoutes(): Promise<OspfRoute[]> {
    return [...this.routeTypes].map(([prefix, type]) => ({ family: 'ipv4', prefix, type, cost: 20, type2Cost: null, tag: null, area: null, nexthops: [] }));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, fn: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A client playing zebra: connects to the bridge's FPM listener and sends a captured stream. */
async function zebraSends(b: OspfBridge, vector: string): Promise<void> {
  const port = Number(b.status().fpm.listening?.split(':').at(-1));
  const stream = readFileSync(new URL(`../vectors/fpm/${vector}`, import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '')
    .map((l) => Buffer.from(l, 'hex'));
  const zebra = connect(port, '127.0.0.1');
  cleanups.push(() => void zebra.destroy());
  await new Promise<void>((r) => zebra.once('connect', () => r()));
  zebra.write(Buffer.concat(stream));
}

describe('the FRR configuration the agent wants', () => {
  it('one point-to-point interface per OSPF neighbor, OSPFv2 only where the tunnel has IPv4, the key for both families', () => {
    const d = ospfDesired(OSPF, [neighbor('b'), neighbor('c', { tunnel: null }), neighbor('d', { ospf: null, bgp: null })]);
    expect(d).toEqual({
      routerId: '192.0.2.1',
      referenceBandwidth: 10_000,
      v4: true,
      v6: true,
      redistribute: { kernel: null, static: null },
      prefixLists: [],
      fpm: { address: '127.0.0.1', port: 2620 },
      interfaces: [
        {
          name: 'wg-b',
          area: '0.0.0.0',
          cost: 10,
          helloInterval: 1,
          deadInterval: 4,
          passive: false,
          network: 'point-to-point',
          v4: true,
          v6: true,
          auth: { v2: { type: 'md5', keyId: 1, key: 's3cret' }, v3: { keyId: 1, key: 's3cret', algorithm: 'hmac-sha-256' } },
        },
        expect.objectContaining({ name: 'wg-c', v4: false, v6: true, auth: { v2: null, v3: { keyId: 1, key: 's3cret', algorithm: 'hmac-sha-256' } } }),
      ],
    });
  });
});

describe('BGP → OSPF (Linux: the agent\'s kernel routes through zebra)', () => {
  it('ospfd takes routes via a BGP neighbor\'s tunnel address; ospf6d routes out of a BGP tunnel but its host routes; tagged, type 2', () => {
    const b = neighbor('b', { bgp: { asn: 65002, holdTime: 90, passive: false, ttlSecurity: true, password: null, gracefulRestart: true, gracefulRestartTime: 120, advertiseOspf: null, maxPrefix: null }, tunnel: { local: ['10.255.0.0/31', 'fd00:255::/127'], remote: ['10.255.0.1', 'fd00:255::1'] } });
    const c = neighbor('c', { ospf: null, bgp: { ...b.bgp! }, tunnel: null, interface: 'wg-c' });
    const d = ospfDesired(OSPF, [b, c, neighbor('o')], true);
    expect(d.prefixLists).toEqual([
      { name: BGP_NEXTHOPS, family: 'ipv4', entries: [{ seq: 5, action: 'permit', prefix: '10.255.0.1/32' }] },
      { name: TUNNEL_HOSTS6, family: 'ipv6', entries: [{ seq: 5, action: 'permit', prefix: 'fd00:255::1/128' }] },
    ]);
    expect(d.redistribute.kernel).toEqual({
      routeMap: BGP_TO_OSPF,
      tag: 201,
      metricType: 2,
      metric: null,
      entries: [{ seq: 10, action: 'permit', match: [{ kind: 'ip-next-hop-prefix-list', list: BGP_NEXTHOPS }], set: true }],
    });
    expect(d.redistribute.ospf6?.kernel?.entries).toEqual([
      { seq: 5, action: 'deny', match: [{ kind: 'ipv6-address-prefix-list', list: TUNNEL_HOSTS6 }], set: false },
      { seq: 10, action: 'permit', match: [{ kind: 'interface', name: 'wg-b' }], set: true },
      { seq: 20, action: 'permit', match: [{ kind: 'interface', name: 'wg-c' }], set: true },
    ]);
    expect(validateOspfDesired(d)).toEqual([]);
  });
  it('nothing crosses without redistribute-bgp, or where the BGP routes are not kernel routes (VPP)', () => {
    expect(ospfDesired({ ...OSPF, redistributeBgp: false }, [neighbor('b')], true).redistribute).toEqual({ kernel: null, static: null });
    expect(ospfDesired(OSPF, [neighbor('b')], false).prefixLists).toEqual([]);
  });
});

describe('the bridge', () => {
  async function bridge(frr: FrrControl, clock = new ManualClock()) {
    const b = new OspfBridge(OSPF, [neighbor('b')], {
      clock,
      log: silentLogger(),
      frr,
      links: async () => [
        { index: 1534, name: 'a1' },
        { index: 1536, name: 'a2' },
      ],
      managed: async () => ['wg-b', 'wg-old'],
      fpmPort: 0,
    });
    cleanups.push(() => b.close());
    return b;
  }

  it('applies at start, naming the interfaces it managed before (their OSPF lines go)', async () => {
    const frr = new ScriptedFrr();
    const b = await bridge(frr);
    await b.start();
    expect(frr.applied).toHaveLength(1);
    expect(frr.applied[0]!.previouslyManaged).toEqual(['wg-b', 'wg-old']);
    expect(b.status()).toMatchObject({ frrVersion: '8.4.4', interfaces: ['wg-b'], detail: 'zebra has not connected over FPM yet', state: 'degraded' });
  });

  it('FRR not running: status says so plainly, and the apply is tried again until it works', async () => {
    const frr = new ScriptedFrr();
    frr.up = false;
    const clock = new ManualClock();
    const b = await bridge(frr, clock);
    await b.start();
    expect(b.status()).toMatchObject({ state: 'down', detail: 'FRR: ospfd is not running', frrVersion: null });
    frr.up = true;
    clock.advance(RETRY_MS);
    await until('the retry applied', () => frr.applied.length === 1);
    await until('status follows', () => b.status().detail !== 'FRR: ospfd is not running');
  });

  it("zebra's routes (captured FRR 8.4.4 stream) reach subscribers with interface names: OSPF only, ECMP kept", async () => {
    const frr = new ScriptedFrr();
    const b = await bridge(frr);
    const updates: OspfRouteUpdate[] = [];
    b.onRoutes((u) => updates.push(...u));
    await b.start();
    await zebraSends(b, 'frr-8.4.4-inline.hex');
    await until('10.10.2.0/24 arrives', () => b.route('10.10.2.0/24') !== undefined);
    expect(b.route('10.10.2.0/24')).toEqual(
      expect.arrayContaining([
        { address: '10.255.0.1', interface: 'a1' },
        { address: '10.255.0.3', interface: 'a2' },
      ]),
    );
    // Connected routes are not OSPF's: noted as this router's own prefixes (never taken from BGP).
    expect(b.route('10.10.1.0/24')).toBeUndefined();
    expect(b.isConnected('10.10.1.0/24')).toBe(true);
    expect(b.isConnected('10.10.2.0/24')).toBe(false);
    expect(updates.filter((u) => u.prefix === '10.10.1.0/24').every((u) => u.nexthops === null)).toBe(true);
    expect(b.status().fpm.connected).toBe(true);
    expect([...b.routes()].map(([p]) => p).sort()).toEqual([...new Set(updates.filter((u) => u.nexthops !== null).map((u) => u.prefix))].filter((p) => b.route(p) !== undefined).sort());
  });

  it('route types from FRR after the FPM changes settle: only intra/inter-area routes are internal (may go to BGP); a change of type is announced again', async () => {
    const frr = new ScriptedFrr();
    frr.routeTypes.set('10.10.2.0/24', 'intra');
    const clock = new ManualClock();
    const b = await bridge(frr, clock);
    const updates: OspfRouteUpdate[] = [];
    b.onRoutes((u) => updates.push(...u));
    await b.start();
    await zebraSends(b, 'frr-8.4.4-inline.hex');
    await until('10.10.2.0/24 arrives', () => b.route('10.10.2.0/24') !== undefined);
    expect(b.internal('10.10.2.0/24')).toBe(false); // not read yet: unknown counts as external
    clock.advance(TYPES_DEBOUNCE_MS);
    await until('types read', () => b.internal('10.10.2.0/24'));
    const seen = updates.length;
    frr.routeTypes.set('10.10.2.0/24', 'external2');
    clock.advance(30_000);
    await until('the change of type is announced', () => updates.length > seen);
    expect(b.internal('10.10.2.0/24')).toBe(false);
    expect(updates.at(-1)?.prefix).toBe('10.10.2.0/24');
    // A prefix in OSPF's table that zebra does not send (it keeps the agent's kernel route): known, announced without next hops.
    expect(b.knows('10.77.0.0/24')).toBe(false);
    frr.routeTypes.set('10.77.0.0/24', 'intra');
    const before = updates.length;
    clock.advance(30_000);
    await until('the table-only prefix is announced', () => updates.length > before);
    expect(b.knows('10.77.0.0/24')).toBe(true);
    expect(updates.slice(before)).toEqual([{ prefix: '10.77.0.0/24', nexthops: null }]);
    frr.routeTypes.delete('10.77.0.0/24');
    clock.advance(30_000);
    await until('its loss is announced', () => !b.knows('10.77.0.0/24'));
    expect(updates.at(-1)).toEqual({ prefix: '10.77.0.0/24', nexthops: null });
  });

  it('the FPM port in use is a start error naming it', async () => {
    const frr = new ScriptedFrr();
    const first = await bridge(frr);
    await first.start();
    const port = Number(first.status().fpm.listening?.split(':').at(-1));
    const second = new OspfBridge({ ...OSPF, frr: { ...OSPF.frr, fpmListen: `127.0.0.1:${port}` } }, [neighbor('b')], {
      clock: new ManualClock(),
      log: silentLogger(),
      frr,
      links: async () => [],
      managed: async () => [],
    });
    cleanups.push(() => second.close());
    await expect(second.start()).rejects.toThrow(`ospf fpm: 127.0.0.1:${port} is in use by another process`);
  });
});
