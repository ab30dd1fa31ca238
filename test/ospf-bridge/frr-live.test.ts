/**
 * The FRR driver against real FRR 8.4 (zebra + ospfd + ospf6d) in two network
 * namespaces of this test, a veth pair standing in for the tunnel and an ifb
 * interface as each side's stub LAN (reference/lab-facts.md §3):
 *
 *   A: wgt0 10.255.0.0/31 ── veth ── wgt0 10.255.0.1/31 :B
 *      lan0 10.10.1.1/24, fd00:10:1::1/64        lan0 10.10.2.1/24, fd00:10:2::1/64
 *
 * A persists per daemon (`no service integrated-vtysh-config`), B in an
 * integrated frr.conf; A's zebra has dplane_fpm_nl, B's has not. Hello 1 /
 * dead 4 so adjacencies come and go in seconds.
 *
 * Needs root and FRR (/usr/lib/frr): skipped without them, except under
 * CI=true, where a missing prerequisite fails.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownedPart, parseRunningConfig } from '#ospf/frr-config';
import { FrrDriver } from '#ospf/frr-driver';
import { FrrFpmModuleError } from '#ospf/frr-errors';
import type { OspfDesired, OspfInterface } from '#ospf/frr-model';
import { renderFrrConfig, renderText } from '#ospf/frr-render';
import type { OspfNeighbor, OspfRoute } from '#ospf/frr-show';
import { createNamespaces, execIn, uniqueName, withVethPair } from '../lab/helpers/netns.js';
import { cleanupFrr, frrMissing, startFrr, type FrrNode } from './helpers/frr-netns.js';

const CI = process.env.CI === 'true';
const missing = frrMissing();
if (missing !== null && !CI) console.log(`ospf-bridge/frr-live: skipped: ${missing}`);

const MD5 = 'live-md5-key';
const SHA = 'live-sha-key-256';
const TUN = 'wgt0';
const LAN = 'lan0';

function tunnel(over: Partial<OspfInterface> = {}): OspfInterface {
  return {
    name: TUN,
    area: '0.0.0.0',
    cost: 10,
    helloInterval: 1,
    deadInterval: 4,
    passive: false,
    network: 'point-to-point',
    v4: true,
    v6: true,
    auth: { v2: { type: 'md5', keyId: 1, key: MD5 }, v3: { keyId: 5, key: SHA, algorithm: 'hmac-sha-256' } },
    ...over,
  };
}

function lan(): OspfInterface {
  return { ...tunnel({ name: LAN, cost: 1, helloInterval: 10, deadInterval: 40, passive: true }), auth: null };
}

function desiredA(over: Partial<OspfDesired> = {}): OspfDesired {
  return {
    routerId: '10.10.1.1',
    referenceBandwidth: null,
    v4: true,
    v6: true,
    redistribute: { kernel: null, static: null },
    fpm: { address: '127.0.0.1', port: 2620 },
    interfaces: [tunnel(), lan()],
    ...over,
  };
}

function desiredB(over: Partial<OspfDesired> = {}): OspfDesired {
  return {
    routerId: '10.10.2.1',
    referenceBandwidth: 1000,
    v4: true,
    v6: true,
    redistribute: { kernel: { routeMap: 'WGBGP-TO-OSPF', tag: 201, metricType: 2, metric: null }, static: null },
    fpm: null,
    interfaces: [tunnel(), lan()],
    ...over,
  };
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    let v: T | undefined | false = undefined;
    try {
      v = await fn();
    } catch (e) {
      last = e;
    }
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const full = (list: OspfNeighbor[], family: 'ipv4' | 'ipv6', routerId: string): OspfNeighbor | undefined =>
  list.find((n) => n.family === family && n.routerId === routerId && n.state === 'Full' && n.interface === TUN);
const route = (list: OspfRoute[], prefix: string): OspfRoute | undefined => list.find((r) => r.prefix === prefix);

describe.skipIf(missing !== null && !CI)('FRR driver against live ospfd/ospf6d in namespaces', () => {
  const prefix = uniqueName('frr');
  let a: FrrNode | undefined;
  let b: FrrNode | undefined;
  let driverA: FrrDriver;
  let driverB: FrrDriver;
  const logs: string[] = [];

  beforeAll(async () => {
    if (missing !== null) throw new Error(`FRR live test prerequisite missing: ${missing}`);
    const [nsA, nsB] = (await createNamespaces(prefix)) as [string, string];
    await withVethPair(nsA, nsB, { nameA: TUN, nameB: TUN, addrA: '10.255.0.0/31', addrB: '10.255.0.1/31' });
    for (const [ns, n] of [[nsA, 1], [nsB, 2]] as const) {
      await execIn(ns, ['ip', 'link', 'add', LAN, 'type', 'ifb']);
      await execIn(ns, ['ip', 'link', 'set', LAN, 'up']);
      await execIn(ns, ['ip', 'addr', 'add', `10.10.${n}.1/24`, 'dev', LAN]);
      await execIn(ns, ['ip', 'addr', 'add', `fd00:10:${n}::1/64`, 'dev', LAN, 'nodad']);
    }
    // B's "BGP routes": a kernel route with the agent's protocol number, for `redistribute kernel`.
    await execIn(nsB, ['ip', 'route', 'add', '192.0.2.0/24', 'dev', LAN, 'proto', '201']);
    a = await startFrr(nsA, { zebraModules: ['dplane_fpm_nl'], integrated: false });
    b = await startFrr(nsB, { integrated: true });
    // What an operator put there by hand: the driver must leave it alone.
    await a.vtysh('configure terminal', `interface ${TUN}`, 'description keep-me', 'exit', 'route-map OPERATOR permit 10', 'set tag 7', 'end');
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(chunk.toString());
        cb();
      },
    });
    driverA = new FrrDriver({ ...a.driverOptions(), log: pino({ level: 'debug' }, sink) });
    driverB = new FrrDriver({ ...b.driverOptions(), log: pino({ level: 'debug' }, sink) });
  }, 60_000);

  afterAll(async () => {
    await cleanupFrr(prefix, [a, b]);
  }, 60_000);

  it('available: version and daemons; the FPM module only in A\'s zebra; plain reasons when FRR is not there', async () => {
    expect(await driverA.available()).toEqual({ ok: true, version: '8.4.4', daemons: ['zebra', 'ospfd', 'ospf6d'], fpmModule: true });
    expect(await driverB.available()).toMatchObject({ ok: true, fpmModule: false });
    expect(await new FrrDriver({ pathspace: `${prefix}-none` }).available()).toEqual({
      ok: false,
      reason: 'FRR is not running (vtysh reaches no daemon)',
    });
    expect(await new FrrDriver({ vtysh: '/nonexistent/vtysh' }).available()).toEqual({ ok: false, reason: 'FRR is not installed (no /nonexistent/vtysh)' });
  });

  it('FPM on B, whose zebra lacks dplane_fpm_nl: refused with a clear reason, nothing applied', async () => {
    const before = await b!.vtysh('show running-config');
    await expect(driverB.apply(desiredB({ fpm: { address: '127.0.0.1', port: 2620 } }), [])).rejects.toThrow(FrrFpmModuleError);
    await expect(driverB.apply(desiredB({ fpm: { address: '127.0.0.1', port: 2620 } }), [])).rejects.toThrow(
      'FPM module not loaded in zebra',
    );
    expect(await b!.vtysh('show running-config')).toBe(before);
  });

  it('apply to both: FRR then holds exactly the rendered lines (its own spelling is ours), persisted per daemon on A and integrated on B', async () => {
    const ra = await driverA.apply(desiredA(), []);
    const rb = await driverB.apply(desiredB(), []);
    expect(ra.commands.length).toBeGreaterThan(10);
    expect(ra.commands).toContain('ip ospf message-digest-key 1 md5 <redacted>');
    expect(ra.persisted).toEqual([a!.configFile('zebra'), a!.configFile('ospfd'), a!.configFile('ospf6d')]);
    expect(rb.persisted).toEqual([b!.integratedFile]);
    for (const [node, d] of [[a!, desiredA()], [b!, desiredB()]] as const) {
      const owned = ownedPart(parseRunningConfig(await node.vtysh('show running-config')), d.interfaces.map((i) => i.name));
      expect(renderText(owned)).toBe(renderFrrConfig(d));
    }
    const runningA = await a!.vtysh('show running-config');
    expect(runningA).toMatch(/^fpm address 127\.0\.0\.1$/m);
    expect(runningA).toMatch(/^no fpm use-next-hop-groups$/m);
  });

  it('Full adjacency in OSPFv2 and OSPFv3 over the tunnel (MD5 and the HMAC-SHA-256 trailer on both sides)', async () => {
    const neighbors = await eventually(
      'Full v2 and v3 on A',
      async () => {
        const list = await driverA.ospfNeighbors();
        return full(list, 'ipv4', '10.10.2.1') && full(list, 'ipv6', '10.10.2.1') ? list : undefined;
      },
      20_000,
    );
    expect(full(neighbors, 'ipv4', '10.10.2.1')).toMatchObject({ address: '10.255.0.1', deadTimeMs: expect.any(Number) });
    expect(full(neighbors, 'ipv6', '10.10.2.1')?.address).toMatch(/^fe80::/);
  }, 30_000);

  it('OSPF routes for the stub prefixes (v4 and v6), and B\'s kernel route as a type 2 external tagged 201', async () => {
    const routes = await eventually(
      'routes on A',
      async () => {
        const list = await driverA.ospfRoutes();
        return route(list, '10.10.2.0/24') && route(list, 'fd00:10:2::/64') && route(list, '192.0.2.0/24') ? list : undefined;
      },
      30_000,
    );
    expect(route(routes, '10.10.2.0/24')).toEqual({
      family: 'ipv4',
      prefix: '10.10.2.0/24',
      type: 'intra',
      cost: 11,
      type2Cost: null,
      tag: null,
      area: '0.0.0.0',
      nexthops: [{ address: '10.255.0.1', interface: TUN }],
    });
    expect(route(routes, 'fd00:10:2::/64')).toMatchObject({ family: 'ipv6', type: 'intra', cost: 11, nexthops: [{ interface: TUN }] });
    expect(route(routes, 'fd00:10:2::/64')!.nexthops[0]!.address).toMatch(/^fe80::/);
    expect(route(routes, '192.0.2.0/24')).toMatchObject({ type: 'external2', tag: 201, type2Cost: 20, nexthops: [{ address: '10.255.0.1', interface: TUN }] });
  }, 40_000);

  it('a no-op apply sends zero commands and writes nothing', async () => {
    expect(await driverA.apply(desiredA(), [TUN, LAN])).toEqual({ commands: [], exec: [], persisted: [] });
    expect(await driverB.apply(desiredB(), [TUN, LAN])).toEqual({ commands: [], exec: [], persisted: [] });
  });

  it('a POINTOPOINT link (a TUN device, as wireguard-go makes): ospfd hides `ip ospf network point-to-point`, and the driver knows', async () => {
    await execIn(a!.ns, ['ip', 'tuntap', 'add', 'mode', 'tun', 'name', 'wgp0']);
    await execIn(a!.ns, ['ip', 'link', 'set', 'wgp0', 'up']);
    const withTun = desiredA({ interfaces: [tunnel(), lan(), tunnel({ name: 'wgp0', auth: null })] });
    // Point-to-point is that link's default: the line is not sent, and apply()'s re-read
    // (FrrVerifyError otherwise) does not count the line FRR hides as missing.
    const r = await driverA.apply(withTun, [TUN, LAN]);
    expect(r.commands).toEqual([
      'interface wgp0',
      'ip ospf area 0.0.0.0',
      'ip ospf cost 10',
      'ip ospf dead-interval 4',
      'ip ospf hello-interval 1',
      'ipv6 ospf6 area 0.0.0.0',
      'ipv6 ospf6 cost 10',
      'ipv6 ospf6 dead-interval 4',
      'ipv6 ospf6 hello-interval 1',
      'ipv6 ospf6 network point-to-point',
      'exit',
    ]);
    const lines = parseRunningConfig(await a!.vtysh('show running-config')).stanzas.find((s) => s.header === 'interface wgp0')?.lines;
    expect(lines).toContain('ipv6 ospf6 network point-to-point');
    expect(lines).not.toContain('ip ospf network point-to-point');
    expect((await driverA.apply(withTun, [TUN, LAN, 'wgp0'])).commands).toEqual([]);
    const back = await driverA.apply(desiredA(), [TUN, LAN, 'wgp0']);
    expect(back.commands.slice(0, 1)).toEqual(['interface wgp0']);
    await execIn(a!.ns, ['ip', 'link', 'del', 'wgp0']);
  });

  it('a cost change is one line per family, in place: the adjacency stays up, the route cost follows', async () => {
    const upBefore = full(await driverB.ospfNeighbors(), 'ipv4', '10.10.1.1')!.uptimeMs!;
    const r = await driverA.apply(desiredA({ interfaces: [tunnel({ cost: 30 }), lan()] }), [TUN, LAN]);
    expect(r.commands).toEqual([`interface ${TUN}`, 'ip ospf cost 30', 'ipv6 ospf6 cost 30', 'exit']);
    const after = full(await driverB.ospfNeighbors(), 'ipv4', '10.10.1.1');
    expect(after?.uptimeMs).toBeGreaterThanOrEqual(upBefore);
    await eventually('cost 31 to B\'s LAN on A', async () => route(await driverA.ospfRoutes(), '10.10.2.0/24')?.cost === 31, 15_000);
  }, 30_000);

  it('a new router-id takes effect through `clear … process`; B sees the new ID Full in both families', async () => {
    const d = desiredA({ routerId: '10.10.1.2', interfaces: [tunnel({ cost: 30 }), lan()] });
    const r = await driverA.apply(d, [TUN, LAN]);
    expect(r.commands).toEqual(['router ospf', 'ospf router-id 10.10.1.2', 'exit', 'router ospf6', 'ospf6 router-id 10.10.1.2', 'exit']);
    expect(r.exec).toEqual(['clear ip ospf process', 'clear ipv6 ospf6 process']);
    expect(JSON.parse(await a!.vtysh('show ip ospf json'))).toMatchObject({ routerId: '10.10.1.2' });
    await eventually(
      'B: 10.10.1.2 Full v2 and v3',
      async () => {
        const list = await driverB.ospfNeighbors();
        return full(list, 'ipv4', '10.10.1.2') !== undefined && full(list, 'ipv6', '10.10.1.2') !== undefined;
      },
      20_000,
    );
  }, 30_000);

  it('removing the tunnel interface removes only its OSPF lines: the adjacency goes, `description keep-me` and route-map OPERATOR stay', async () => {
    const d = desiredA({ routerId: '10.10.1.2', interfaces: [lan()] });
    const r = await driverA.apply(d, [TUN, LAN]);
    expect(r.commands[0]).toBe(`interface ${TUN}`);
    expect(r.commands.at(-1)).toBe('exit');
    expect(r.commands.slice(1, -1).every((c) => /^no (ip ospf|ipv6 ospf6) /.test(c))).toBe(true);
    await eventually('no neighbor on B', async () => (await driverB.ospfNeighbors()).length === 0, 15_000);
    const running = parseRunningConfig(await a!.vtysh('show running-config'));
    expect(running.stanzas.find((s) => s.header === `interface ${TUN}`)?.lines).toEqual(['description keep-me']);
    expect(running.stanzas.find((s) => s.header === 'route-map OPERATOR permit 10')?.lines).toEqual(['set tag 7']);
    expect(await driverA.apply(d, [TUN, LAN])).toEqual({ commands: [], exec: [], persisted: [] });
  }, 30_000);

  it('write memory persisted: A\'s ospfd restarted reads its own file back; B\'s daemons restarted get frr.conf through vtysh -b', async () => {
    const d = desiredA({ routerId: '10.10.1.2', interfaces: [lan()] });
    expect(readFileSync(a!.configFile('ospfd'), 'utf8')).toMatch(/ospf router-id 10\.10\.1\.2/);
    await a!.restart('ospfd');
    expect(await driverA.apply(d, [TUN, LAN])).toEqual({ commands: [], exec: [], persisted: [] });

    expect(readFileSync(b!.integratedFile, 'utf8')).toMatch(/^ ipv6 ospf6 authentication key-id 5 hash-algo hmac-sha-256 key /m);
    await b!.restart('ospfd');
    await b!.restart('ospf6d');
    await b!.boot();
    expect(await driverB.apply(desiredB(), [TUN, LAN])).toEqual({ commands: [], exec: [], persisted: [] });
  }, 40_000);

  it('no key reached a log line', () => {
    const text = logs.join('');
    expect(text).toContain('FRR: applying OSPF configuration');
    expect(text).not.toContain(MD5);
    expect(text).not.toContain(SHA);
  });
});
