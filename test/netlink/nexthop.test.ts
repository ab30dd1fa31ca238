/**
 * Nexthop objects and routes that name them (RTA_NH_ID), against the real
 * kernel in a namespace of its own; `ip -n` checks the result.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rtnetlink } from '#netlink/index';
import type { NexthopObject, NexthopWrite } from '#netlink/index';
import { closeNetns, netnsWithLinks, VA_LINK, type TestNetns } from './netns.js';

const PROTO = 201;
const TAG = { table: 1000, protocol: PROTO, metric: 32 };

interface IpNexthop {
  id: number;
  gateway?: string;
  dev?: string;
  group?: { id: number; weight?: number }[];
  blackhole?: boolean;
  protocol?: string;
}
interface IpRoute {
  dst: string;
  nhid?: number;
  gateway?: string;
  dev?: string;
}

let ns: TestNetns;
let nl: Rtnetlink;

beforeAll(async () => ({ ns, nl } = await netnsWithLinks([VA_LINK])));
afterAll(() => closeNetns(ns, nl));

const nexthops = (): IpNexthop[] => ns.json<IpNexthop[]>('nexthop', 'show');
const byId = (id: number): IpNexthop | undefined => nexthops().find((n) => n.id === id);

describe('nexthop objects', () => {
  it('writes single (v4, v6, device only), blackhole and group objects; the dump reads them back by protocol', async () => {
    // An operator's object of another protocol is listed only without the protocol filter.
    ns.ip('nexthop', 'add', 'id', '9', 'via', '10.0.0.9', 'dev', 'va');
    const objects: NexthopObject[] = [
      { id: 101, protocol: PROTO, address: '10.0.0.2', interface: 'va' },
      { id: 102, protocol: PROTO, address: 'fd00::2', interface: 'va' },
      { id: 103, protocol: PROTO, interface: 'va' },
      { id: 104, protocol: PROTO, blackhole: true },
      {
        id: 105,
        protocol: PROTO,
        group: [
          { id: 101, weight: 1 },
          { id: 102, weight: 3 },
        ],
      },
    ];
    expect(await nl.nexthopWrite(objects.map((nexthop) => ({ op: 'add', nexthop })))).toEqual([]);
    expect(byId(101)).toMatchObject({ gateway: '10.0.0.2', dev: 'va', protocol: String(PROTO) });
    expect(byId(102)).toMatchObject({ gateway: 'fd00::2', dev: 'va' });
    expect(byId(103)).toMatchObject({ dev: 'va' });
    expect(byId(104)).toHaveProperty('blackhole'); // iproute2 prints the flag as null
    expect(byId(105)?.group).toEqual([{ id: 101 }, { id: 102, weight: 3 }]);

    const ours = (await nl.nexthopObjects(PROTO)).sort((a, b) => a.id - b.id);
    expect(ours).toEqual(objects);
    expect((await nl.nexthopObjects()).map((n) => n.id)).toContain(9);
    expect((await nl.nexthopObjects(PROTO)).map((n) => n.id)).not.toContain(9);
  });

  it('add of a taken id is EEXIST (by index), replace changes an object in place, delete goes by id', async () => {
    const ops: NexthopWrite[] = [
      { op: 'add', nexthop: { id: 9, protocol: PROTO, address: '10.0.0.3', interface: 'va' } },
      { op: 'add', nexthop: { id: 106, protocol: PROTO, address: '10.0.0.3', interface: 'nosuch0' } },
      { op: 'add', nexthop: { id: 107, protocol: PROTO, address: '10.99.0.3', interface: 'va' } },
      { op: 'replace', nexthop: { id: 101, protocol: PROTO, address: '10.0.0.4', interface: 'va' } },
      { op: 'delete', id: 104 },
      { op: 'delete', id: 4242 },
    ];
    const failed = await nl.nexthopWrite(ops);
    expect(failed.map((f) => f.index)).toEqual([0, 1, 2, 5]);
    expect(failed[0]!.errno).toBe(-17); // EEXIST: the operator's object stays
    expect(failed[1]!.errno).toBe(-19); // ENODEV, found before sending
    expect(failed[2]!.errno).toBe(-101); // ENETUNREACH: the gateway is not on the link
    expect(failed[3]!.errno).toBe(-2); // ENOENT
    expect(byId(9)).toMatchObject({ gateway: '10.0.0.9' });
    expect(byId(101)).toMatchObject({ gateway: '10.0.0.4' });
    expect(byId(104)).toBeUndefined();
  });

  it('routes name objects with RTA_NH_ID; the dump says which and carries the paths; a replaced object moves them all', async () => {
    const routes = [
      { op: 'add' as const, route: { prefix: '10.10.0.0/24', nexthops: [] } },
      { op: 'add' as const, route: { prefix: '10.11.0.0/24', nexthops: [] } },
      { op: 'add' as const, route: { prefix: '10.12.0.0/24', nexthops: [] } },
      { op: 'add' as const, route: { prefix: '2001:db8:1::/48', nexthops: [] } },
      { op: 'add' as const, route: { prefix: '2001:db8:2::/48', nexthops: [] } },
      // An IPv6 route cannot name an IPv4 object (nor a group with one).
      { op: 'add' as const, route: { prefix: '2001:db8:3::/48', nexthops: [] } },
      // Without an id the route's own paths are written.
      { op: 'add' as const, route: { prefix: '10.13.0.0/24', nexthops: [{ address: '10.0.0.2', interface: 'va' }] } },
    ];
    const failed = await nl.routeWrite(TAG, routes, [101, 105, 103, 102, 103, 101, 0]);
    expect(failed.map((f) => f.index)).toEqual([5]);
    const shown = ns.json<IpRoute[]>('route', 'show', 'table', '1000');
    expect(shown.find((r) => r.dst === '10.10.0.0/24')).toMatchObject({ nhid: 101 });
    expect(shown.find((r) => r.dst === '10.13.0.0/24')?.nhid).toBeUndefined();
    expect(ns.json<IpRoute[]>('-6', 'route', 'show', 'table', '1000').find((r) => r.dst === '2001:db8:2::/48')).toMatchObject({ nhid: 103 });

    const dumped = new Map((await nl.routes(1000, PROTO, 32)).map((r) => [r.prefix, r]));
    expect(dumped.get('10.10.0.0/24')).toMatchObject({ nhId: 101, nexthops: [{ address: '10.0.0.4', interface: 'va' }] });
    expect(dumped.get('10.11.0.0/24')?.nhId).toBe(105);
    expect(dumped.get('10.11.0.0/24')?.nexthops).toEqual([
      { address: '10.0.0.4', interface: 'va' },
      { address: 'fd00::2', interface: 'va' },
    ]);
    expect(dumped.get('10.12.0.0/24')).toMatchObject({ nhId: 103, nexthops: [{ interface: 'va' }] });
    expect(dumped.get('2001:db8:1::/48')).toMatchObject({ nhId: 102, nexthops: [{ address: 'fd00::2', interface: 'va' }] });
    expect(dumped.get('10.13.0.0/24')?.nhId).toBeUndefined();

    // One object replaced: both routes that name it (directly and through the group) follow.
    expect(await nl.nexthopWrite([{ op: 'replace', nexthop: { id: 101, protocol: PROTO, address: '10.0.0.5', interface: 'va' } }])).toEqual([]);
    const after = new Map((await nl.routes(1000, PROTO, 32)).map((r) => [r.prefix, r]));
    expect(after.get('10.10.0.0/24')?.nexthops).toEqual([{ address: '10.0.0.5', interface: 'va' }]);
    expect(after.get('10.11.0.0/24')?.nexthops[0]).toEqual({ address: '10.0.0.5', interface: 'va' });
  });

  it('with nexthop_compat_mode off the kernel sends only RTA_NH_ID: the paths come from the objects', async () => {
    execFileSync('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv4.nexthop_compat_mode=0']);
    try {
      const dumped = new Map((await nl.routes(1000, PROTO, 32)).map((r) => [r.prefix, r]));
      expect(dumped.get('10.10.0.0/24')).toMatchObject({ nhId: 101, nexthops: [{ address: '10.0.0.5', interface: 'va' }] });
      expect(dumped.get('10.11.0.0/24')?.nexthops).toEqual([
        { address: '10.0.0.5', interface: 'va' },
        { address: 'fd00::2', interface: 'va' },
      ]);
      expect(dumped.get('2001:db8:2::/48')?.nexthops).toEqual([{ interface: 'va' }]);
      expect(dumped.get('10.13.0.0/24')?.nexthops).toEqual([{ address: '10.0.0.2', interface: 'va' }]);
      // The lookups the recursion guard uses resolve them too.
      expect((await nl.routesOf('10.10.0.0/24', 1000))[0]).toMatchObject({ nhId: 101, nexthops: [{ address: '10.0.0.5', interface: 'va' }] });
    } finally {
      execFileSync('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv4.nexthop_compat_mode=1']);
    }
  });

  it('deleting an object removes the routes that name it (kernel behaviour the FIB backend relies on never to trigger)', async () => {
    expect(await nl.nexthopWrite([{ op: 'delete', id: 105 }])).toEqual([]);
    const left = (await nl.routes(1000, PROTO, 32)).map((r) => r.prefix);
    expect(left).not.toContain('10.11.0.0/24');
    expect(left).toContain('10.10.0.0/24');
  });

  it('a batch of 3000 objects over many small send buffers: each failure lands on its op', async () => {
    const small = await Rtnetlink.open({ netns: ns.name, sendBytes: 2048 });
    try {
      const ops: NexthopWrite[] = [];
      for (let i = 0; i < 3000; i++) {
        const address = i % 1000 === 999 ? '10.99.0.1' : `10.0.0.${2 + (i % 200)}`;
        ops.push({ op: 'add', nexthop: { id: 10_000 + i, protocol: PROTO, address, interface: 'va' } });
      }
      const failed = await small.nexthopWrite(ops);
      expect(failed.map((f) => f.index)).toEqual([999, 1999, 2999]);
      expect((await small.nexthopObjects(PROTO)).filter((n) => n.id >= 10_000).length).toBe(2997);
      const deletes: NexthopWrite[] = ops.map((op) => ({ op: 'delete', id: op.op === 'delete' ? 0 : op.nexthop.id }));
      expect((await small.nexthopWrite(deletes)).map((f) => f.index)).toEqual([999, 1999, 2999]);
    } finally {
      await small.close();
    }
  });
});
