/**
 * Rtnetlink against the real kernel, inside a namespace of its own: the socket
 * is opened in the namespace (`netns` option), and `ip -n` checks the result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkError, Rtnetlink } from '#netlink/index';
import type { KernelRoute, RouteOp, RouteWrite } from '#netlink/index';
import { closeNetns, netnsWithLinks, VA_LINK, type TestNetns } from './netns.js';

const PROTO = 201;
const TABLE = 1000;

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  via?: { family: string; host: string };
  scope?: string;
  protocol?: string;
  nexthops?: { gateway?: string; via?: { family: string; host: string }; dev: string }[];
}

let ns: TestNetns;
let nl: Rtnetlink;

beforeAll(async () => ({ ns, nl } = await netnsWithLinks([VA_LINK])));
afterAll(() => closeNetns(ns, nl));

const replace = (prefix: string, nexthops: KernelRoute['nexthops'], table = TABLE): RouteOp => ({
  op: 'replace',
  route: { prefix, table, protocol: PROTO, nexthops },
});

function kernelRoute(prefix: string, family: '-4' | '-6', table = TABLE): IpRoute | undefined {
  return ns.json<IpRoute[]>(family, 'route', 'show', 'table', String(table), prefix)[0];
}

describe('links', () => {
  it('finds links by name and lists them; a missing one is null', async () => {
    const va = await nl.link('va');
    expect(va).toMatchObject({ name: 'va', up: true, mtu: 1500 });
    expect(va!.index).toBeGreaterThan(0);
    expect((await nl.links()).map((l) => l.name).sort()).toEqual(['lo', 'va', 'vb']);
    expect(await nl.link('nosuch0')).toBeNull();
  });

  it('issue 12: a link of a kind is created (IFLA_LINKINFO), and links report their kind; the MTU is set in place', async () => {
    // "wireguard" needs the module (absent here): a bridge goes through the same RTM_NEWLINK path.
    await nl.linkAdd('kb0', 'bridge');
    expect(await nl.link('kb0')).toMatchObject({ name: 'kb0', kind: 'bridge' });
    expect((await nl.links()).find((l) => l.name === 'va')).toMatchObject({ kind: 'veth' });
    await expect(nl.linkAdd('kb0', 'bridge')).rejects.toMatchObject({ errno: 17 });
    await nl.linkSetMtu('kb0', 1400);
    expect(await nl.link('kb0')).toMatchObject({ mtu: 1400 });
    await nl.linkDelete('kb0');
  });

  it('addrgenmode none before up: no fe80:: appears (the peer end, left alone, gets one)', async () => {
    ns.ip('link', 'add', 'ga', 'type', 'veth', 'peer', 'name', 'gb');
    await nl.linkSetAddrGenModeNone('ga');
    expect(await nl.link('ga')).toMatchObject({ up: false });
    await nl.linkSetUp('ga');
    await nl.linkSetUp('gb');
    expect(await nl.link('ga')).toMatchObject({ up: true });
    const detail = ns.json<{ inet6_addr_gen_mode?: string }[]>('-d', 'link', 'show', 'ga')[0];
    expect(detail?.inet6_addr_gen_mode).toBe('none');
    expect((await nl.addresses('gb')).some((a) => a.startsWith('fe80:'))).toBe(true);
    expect(await nl.addresses('ga')).toEqual([]);
  });

  it('adds, lists and deletes v4 /31, v6 /127 and a link-local address', async () => {
    await nl.addressAdd('ga', '10.255.0.0/31');
    await nl.addressAdd('ga', 'fd00:255::/127');
    await nl.addressAdd('ga', 'fe80::a/64');
    // Adding again is not an error (NLM_F_REPLACE): restarts adopt what is there.
    await nl.addressAdd('ga', '10.255.0.0/31');
    expect((await nl.addresses('ga')).sort()).toEqual(['10.255.0.0/31', 'fd00:255::/127', 'fe80::a/64']);
    const ip = ns.json<{ addr_info: { local: string; prefixlen: number }[] }[]>('addr', 'show', 'dev', 'ga')[0]!;
    expect(ip.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort()).toEqual(['10.255.0.0/31', 'fd00:255::/127', 'fe80::a/64']);
    await nl.addressDelete('ga', '10.255.0.0/31');
    await nl.addressDelete('ga', 'fe80::a/64');
    expect(await nl.addresses('ga')).toEqual(['fd00:255::/127']);
  });

  it('errors are typed with the errno name', async () => {
    const missing = await nl.addressAdd('nosuch0', '10.9.9.9/32').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NetlinkError);
    expect((missing as NetlinkError).code).toBe('ENODEV');
    const gone = await nl.addressDelete('ga', '10.200.0.1/32').catch((e: unknown) => e);
    expect((gone as NetlinkError).code).toBe('EADDRNOTAVAIL');
    await expect(nl.linkSetUp('nosuch0')).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('without `netns` the socket works in the calling process\'s own namespace (read-only here)', async () => {
    const own = await Rtnetlink.open();
    try {
      expect(await own.link('lo')).toMatchObject({ name: 'lo', index: 1 });
      expect(await own.link('nosuch-wgbgp0')).toBeNull();
    } finally {
      await own.close();
    }
  });

  it('deletes a link', async () => {
    ns.ip('link', 'add', 'tmp0', 'type', 'ifb');
    expect(await nl.link('tmp0')).not.toBeNull();
    await nl.linkDelete('tmp0');
    expect(await nl.link('tmp0')).toBeNull();
  });
});

describe('routes', () => {
  it('IPv4 and IPv6 via gateway + interface', async () => {
    const res = await nl.routeBatch([
      replace('10.1.0.0/24', [{ address: '10.0.0.2', interface: 'va' }]),
      replace('2001:db8:1::/48', [{ address: 'fd00::2', interface: 'va' }]),
    ]);
    expect(res).toEqual([
      { index: 0, errno: 0 },
      { index: 1, errno: 0 },
    ]);
    expect(kernelRoute('10.1.0.0/24', '-4')).toMatchObject({ gateway: '10.0.0.2', dev: 'va', protocol: '201' });
    expect(kernelRoute('2001:db8:1::/48', '-6')).toMatchObject({ gateway: 'fd00::2', dev: 'va', protocol: '201' });
  });

  it('device-only route has scope link', async () => {
    expect(await nl.routeBatch([replace('10.255.9.1/32', [{ interface: 'va' }])])).toEqual([{ index: 0, errno: 0 }]);
    expect(kernelRoute('10.255.9.1/32', '-4')).toMatchObject({ dev: 'va', scope: 'link' });
  });

  it('multipath with two next hops (v4 and v6)', async () => {
    await nl.routeBatch([
      replace('10.2.0.0/24', [
        { address: '10.0.0.2', interface: 'va' },
        { address: '10.0.0.3', interface: 'va' },
      ]),
      replace('2001:db8:2::/48', [
        { address: 'fd00::2', interface: 'va' },
        { address: 'fd00::3', interface: 'va' },
      ]),
    ]);
    expect(kernelRoute('10.2.0.0/24', '-4')?.nexthops?.map((n) => n.gateway)).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(kernelRoute('2001:db8:2::/48', '-6')?.nexthops?.map((n) => n.gateway)).toEqual(['fd00::2', 'fd00::3']);
  });

  it('RFC 8950: IPv4 route via an IPv6 next hop (RTA_VIA), single and multipath', async () => {
    const res = await nl.routeBatch([
      replace('10.3.0.0/24', [{ address: 'fe80::2', interface: 'va' }]),
      replace('10.4.0.0/24', [
        { address: 'fd00::2', interface: 'va' },
        { address: 'fd00::3', interface: 'va' },
      ]),
    ]);
    expect(res.map((r) => r.errno)).toEqual([0, 0]);
    expect(kernelRoute('10.3.0.0/24', '-4')).toMatchObject({ via: { family: 'inet6', host: 'fe80::2' }, dev: 'va' });
    expect(kernelRoute('10.4.0.0/24', '-4')?.nexthops?.map((n) => n.via?.host)).toEqual(['fd00::2', 'fd00::3']);
  });

  it('replace changes next hops in place (multipath → single, single → other gateway)', async () => {
    await nl.routeBatch([
      replace('10.2.0.0/24', [{ address: '10.0.0.3', interface: 'va' }]),
      replace('2001:db8:2::/48', [{ address: 'fd00::3', interface: 'va' }]),
      replace('10.1.0.0/24', [{ address: '10.0.0.3', interface: 'va' }]),
    ]);
    expect(kernelRoute('10.2.0.0/24', '-4')).toMatchObject({ gateway: '10.0.0.3' });
    expect(kernelRoute('2001:db8:2::/48', '-6')).toMatchObject({ gateway: 'fd00::3' });
    expect(ns.json<IpRoute[]>('-6', 'route', 'show', 'table', String(TABLE), '2001:db8:2::/48')).toHaveLength(1);
    expect(kernelRoute('10.1.0.0/24', '-4')).toMatchObject({ gateway: '10.0.0.3' });
  });

  it('each op gets its own result; an unreachable gateway is ENETUNREACH, a missing delete ESRCH', async () => {
    const res = await nl.routeBatch([
      replace('10.5.0.0/24', [{ address: '10.0.0.2', interface: 'va' }]),
      replace('10.6.0.0/24', [{ address: '192.0.2.1', interface: 'va' }]),
      { op: 'delete', route: { prefix: '10.77.0.0/24', table: TABLE, protocol: PROTO } },
      replace('10.7.0.0/24', [{ interface: 'nosuch0' }]),
      replace('10.8.0.0/24', [{ address: '10.0.0.2' }]),
      replace('10.8.0.1/24', [{ address: '10.0.0.2' }]),
      replace('10.08.0.0/24', [{ address: '10.0.0.2' }]),
      replace('2001:db8::/32', [{ address: '10.0.0.2' }]),
      replace('10.13.0.0/24', []),
    ]);
    // Not sent at all: host bits set, a leading zero, an IPv4 next hop on IPv6, no next hop.
    expect(res.map((r) => r.errno)).toEqual([0, -101, -3, -19, 0, -22, -22, -22, -22]);
    expect(kernelRoute('10.8.0.0/24', '-4')).toMatchObject({ gateway: '10.0.0.2', dev: 'va' });
  });

  it('delete removes a route by prefix + table + protocol, multipath as a whole', async () => {
    await nl.routeBatch([
      replace('10.9.0.0/24', [
        { address: '10.0.0.2', interface: 'va' },
        { address: '10.0.0.3', interface: 'va' },
      ]),
      replace('2001:db8:9::/48', [
        { address: 'fd00::2', interface: 'va' },
        { address: 'fd00::3', interface: 'va' },
      ]),
    ]);
    const res = await nl.routeBatch([
      { op: 'delete', route: { prefix: '10.9.0.0/24', table: TABLE, protocol: PROTO } },
      { op: 'delete', route: { prefix: '2001:db8:9::/48', table: TABLE, protocol: PROTO } },
    ]);
    expect(res.map((r) => r.errno)).toEqual([0, 0]);
    expect(kernelRoute('10.9.0.0/24', '-4')).toBeUndefined();
    expect(kernelRoute('2001:db8:9::/48', '-6')).toBeUndefined();
  });

  it('default routes of both families (no RTA_DST)', async () => {
    const res = await nl.routeBatch([
      replace('0.0.0.0/0', [{ address: '10.0.0.2', interface: 'va' }], 1300),
      replace('::/0', [{ address: 'fd00::2', interface: 'va' }], 1300),
    ]);
    expect(res.map((r) => r.errno)).toEqual([0, 0]);
    expect((await nl.routes(1300, PROTO)).map((r) => r.prefix)).toEqual(['0.0.0.0/0', '::/0']);
    expect(kernelRoute('default', '-4', 1300)).toMatchObject({ dst: 'default', gateway: '10.0.0.2' });
  });

  it('a delete with another protocol does not match', async () => {
    await nl.routeBatch([replace('10.10.0.0/24', [{ address: '10.0.0.2', interface: 'va' }])]);
    const res = await nl.routeBatch([{ op: 'delete', route: { prefix: '10.10.0.0/24', table: TABLE, protocol: 4 } }]);
    expect(res[0]!.errno).toBe(-3);
    expect(kernelRoute('10.10.0.0/24', '-4')).toBeDefined();
  });

  it('dumps only the given table and protocol, both families, in main and in a non-main table', async () => {
    ns.ip('route', 'add', '10.77.0.0/24', 'dev', 'va', 'proto', 'static');
    ns.ip('route', 'add', '10.77.0.0/24', 'dev', 'va', 'proto', 'static', 'table', String(TABLE));
    ns.ip('route', 'add', '10.78.0.0/24', 'dev', 'va', 'proto', String(PROTO), 'table', '2000');
    await nl.routeBatch([
      replace('10.11.0.0/24', [{ address: '10.0.0.2', interface: 'va' }], 254),
      replace('2001:db8:11::/48', [{ address: 'fd00::2', interface: 'va' }], 254),
    ]);
    const main = await nl.routes(254, PROTO);
    expect(main.map((r) => r.prefix).sort()).toEqual(['10.11.0.0/24', '2001:db8:11::/48']);
    expect(main.find((r) => r.prefix === '10.11.0.0/24')).toEqual({
      prefix: '10.11.0.0/24',
      table: 254,
      protocol: PROTO,
      metric: 0,
      nexthops: [{ address: '10.0.0.2', interface: 'va' }],
    });
    const t = await nl.routes(TABLE, PROTO);
    const byPrefix = new Map(t.map((r) => [r.prefix, r]));
    expect(byPrefix.has('10.77.0.0/24')).toBe(false);
    expect(byPrefix.has('10.78.0.0/24')).toBe(false);
    expect(byPrefix.get('10.255.9.1/32')?.nexthops).toEqual([{ interface: 'va' }]);
    expect(byPrefix.get('10.3.0.0/24')?.nexthops).toEqual([{ address: 'fe80::2', interface: 'va' }]);
    expect(byPrefix.get('10.4.0.0/24')?.nexthops).toEqual([
      { address: 'fd00::2', interface: 'va' },
      { address: 'fd00::3', interface: 'va' },
    ]);
    expect(byPrefix.get('2001:db8:1::/48')?.nexthops).toEqual([{ address: 'fd00::2', interface: 'va' }]);
    expect(t.every((r) => r.table === TABLE && r.protocol === PROTO)).toBe(true);
    // A table that does not exist is empty, not an error.
    expect(await nl.routes(4242, PROTO)).toEqual([]);
  });

  it('a batch larger than one send buffer gets every ack matched by seq', async () => {
    const ops: RouteOp[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = `10.${100 + (i >> 8)}.${i & 255}.0/24`;
      // Every 500th op fails, to check that acks land on the right index.
      ops.push(replace(p, [{ address: i % 500 === 499 ? '192.0.2.1' : '10.0.0.2', interface: 'va' }], 3000));
    }
    const res = await nl.routeBatch(ops);
    const failed = res.filter((r) => r.errno !== 0).map((r) => [r.index, r.errno]);
    expect(failed).toEqual([499, 999, 1499, 1999, 2499, 2999].map((i) => [i, -101]));
    expect(ns.json<unknown[]>('route', 'show', 'table', '3000', 'proto', String(PROTO))).toHaveLength(2994);
    expect(await nl.routes(3000, PROTO)).toHaveLength(2994);
  });

  it('only failures are answered: with many small send buffers, errors mid-buffer and on the fence land on their own op', async () => {
    // ~4 KiB per send: about 60 routes per buffer, so the batch spans several fences.
    const small = await Rtnetlink.open({ netns: ns.name, sendBytes: 4096 });
    try {
      const bad = new Set([0, 37, 150, 298]);
      const ops: RouteOp[] = [];
      for (let i = 0; i < 299; i++) {
        ops.push(replace(`10.${140 + (i >> 8)}.${i & 255}.0/24`, [{ address: bad.has(i) ? '192.0.2.1' : '10.0.0.2', interface: 'va' }], 3200));
      }
      // The batch's last op fails before it is sent (host bits set): the fence is the op before it.
      ops.push(replace('10.150.0.1/24', [{ address: '10.0.0.2', interface: 'va' }], 3200));
      const res = await small.routeBatch(ops);
      expect(res.filter((r) => r.errno !== 0).map((r) => [r.index, r.errno])).toEqual([
        [0, -101],
        [37, -101],
        [150, -101],
        [298, -101],
        [299, -22],
      ]);
      expect(await small.routes(3200, PROTO)).toHaveLength(295);
      // Deletes too: a missing route is ESRCH on its own op, the others are gone.
      const del = await small.routeBatch(
        [0, 1, 2, 37, 60, 61].map((i): RouteOp => ({ op: 'delete', route: { prefix: `10.140.${i}.0/24`, table: 3200, protocol: PROTO } })),
      );
      expect(del.map((r) => r.errno)).toEqual([-3, 0, 0, -3, 0, 0]);
      // A batch of nothing but ops that cannot be sent sends nothing.
      expect((await small.routeBatch([replace('10.150.0.1/24', [])])).map((r) => r.errno)).toEqual([-22]);
    } finally {
      await small.close();
    }
  });

  it('routeWrite: one table and protocol for the batch, and only the failures come back, by index', async () => {
    const ops: RouteWrite[] = [];
    for (let i = 0; i < 2500; i++) {
      ops.push({ op: 'replace', route: { prefix: `10.${160 + (i >> 8)}.${i & 255}.0/24`, nexthops: [{ address: i === 1234 ? '192.0.2.1' : '10.0.0.2', interface: 'va' }] } });
    }
    ops.push({ op: 'replace', route: { prefix: '2001:db8:160::/48', nexthops: [{ address: 'fd00::2', interface: 'va' }] } });
    ops.push({ op: 'delete', prefix: '10.199.0.0/24' });
    expect(await nl.routeWrite({ table: 3300, protocol: PROTO, metric: 32 }, ops)).toEqual([
      { index: 1234, errno: -101 },
      { index: 2501, errno: -3 },
    ]);
    expect(await nl.routes(3300, PROTO)).toHaveLength(2500);
    expect(await nl.routeWrite({ table: 3300, protocol: PROTO, metric: 32 }, [{ op: 'delete', prefix: '10.160.0.0/24' }])).toEqual([]);
  });

  it('a small receive buffer splits the batch so that no ack is lost', async () => {
    const small = await Rtnetlink.open({ netns: ns.name, rcvbuf: 16 * 1024 });
    try {
      const ops: RouteOp[] = [];
      for (let i = 0; i < 500; i++) ops.push(replace(`10.${120 + (i >> 8)}.${i & 255}.0/24`, [{ address: '10.0.0.2', interface: 'va' }], 3100));
      const res = await small.routeBatch(ops);
      expect(res.filter((r) => r.errno !== 0)).toEqual([]);
      expect(await small.routes(3100, PROTO)).toHaveLength(500);
    } finally {
      await small.close();
    }
  });

  it('serializes concurrent callers on the one socket', async () => {
    const [a, b, links] = await Promise.all([
      nl.routeBatch([replace('10.12.0.0/24', [{ address: '10.0.0.2', interface: 'va' }])]),
      nl.routes(TABLE, PROTO),
      nl.links(),
    ]);
    expect(a[0]!.errno).toBe(0);
    expect(b.length).toBeGreaterThan(0);
    expect(links.length).toBeGreaterThan(2);
  });
});
