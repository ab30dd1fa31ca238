/**
 * The agent's host route to a tunnel peer carries RTAX_HOPLIMIT 255
 * (fib/hoplimit.ts), so that what the kernel sends the peer by itself (a TCP
 * reset for a segment no socket takes) passes the peer's GTSM check (RFC 5082
 * §3). Learned routes and routes through anything but a tunnel carry none.
 * LinuxFib in a namespace of its own, with and without nexthop objects. The
 * peer seeing those resets: test/interop/openbgpd-restart.test.ts (kill -9).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rtnetlink } from '#netlink/index';
import { FibManager, LinuxFib } from '#fib/index';
import { hopLimitOf } from '#fib/hoplimit';
import { closeNetns, netnsWithLinks, WG_LINK, type TestNetns } from '../netlink/netns.js';

const PROTO = 201;

describe('hopLimitOf', () => {
  const tunnel = (i: string): boolean => i === 'wg-a';
  it('255 for a host route (/32, /128) whose one next hop is a tunnel without an address; 0 for any other', () => {
    expect(hopLimitOf('10.255.0.1/32', [{ interface: 'wg-a' }], tunnel)).toBe(255);
    expect(hopLimitOf('fd00:255::1/128', [{ interface: 'wg-a' }], tunnel)).toBe(255);
    // A learned route names the peer's address; a /31 is the subnet, not the peer; eth0 is no tunnel.
    expect(hopLimitOf('10.9.0.1/32', [{ address: '10.255.0.1', interface: 'wg-a' }], tunnel)).toBe(0);
    expect(hopLimitOf('10.255.0.0/31', [{ interface: 'wg-a' }], tunnel)).toBe(0);
    expect(hopLimitOf('10.255.0.1/32', [{ interface: 'eth0' }], tunnel)).toBe(0);
    expect(hopLimitOf('10.255.0.1/32', [{ interface: 'wg-a' }, { interface: 'wg-a' }], tunnel)).toBe(0);
  });
});

describe('LinuxFib: host routes to tunnel peers with hop limit 255', () => {
  let ns: TestNetns;
  let nl: Rtnetlink;

  beforeAll(async () => ({ ns, nl } = await netnsWithLinks([WG_LINK])));
  afterAll(() => closeNetns(ns, nl));

  it.each([true, false])('written with it, an older run\'s host route given it by retune, learned routes without (nexthop objects: %s)', async (objects) => {
    const table = objects ? 2500 : 2510;
    const t = String(table);
    const hoplimits = (fam: '-4' | '-6'): string[] =>
      ns.json<{ dst: string; metrics?: { hoplimit?: number }[] }[]>(fam, 'route', 'show', 'table', t, 'proto', String(PROTO))
        .map((r) => `${r.dst} ${r.metrics?.find((m) => m.hoplimit !== undefined)?.hoplimit ?? '-'}`)
        .sort();
    // Left by a run before hop limits, without one.
    ns.ip('route', 'add', '10.255.0.1/32', 'dev', 'wg-a', 'proto', String(PROTO), 'metric', '32', 'table', t);
    const fib = new LinuxFib(nl, { table, protocol: PROTO, metric: 32 }, { nexthopObjects: objects });
    fib.tunnelMtu('wg-a', 1420);
    const m = new FibManager(fib);
    await m.adopt();
    m.set({ prefix: '10.255.0.1/32', nexthops: [{ interface: 'wg-a' }] }, 'tunnel');
    m.set({ prefix: 'fd00:255::1/128', nexthops: [{ interface: 'wg-a' }] }, 'tunnel');
    m.set({ prefix: '10.72.0.0/24', nexthops: [{ address: '10.255.0.1', interface: 'wg-a' }] });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(hoplimits('-6')).toEqual(['fd00:255::1 255']);
    expect(hoplimits('-4')).toEqual(['10.255.0.1 -', '10.72.0.0/24 -']);
    // The adopted one (equal next hops, not rewritten by the flush) by the first retune, as for advmss.
    expect(await m.between(() => fib.retune())).toEqual({ rewritten: 1, failed: [] });
    expect(hoplimits('-4')).toEqual(['10.255.0.1 255', '10.72.0.0/24 -']);
    expect(await fib.retune()).toEqual({ rewritten: 0, failed: [] });
    expect(await m.reconcile()).toEqual({ removed: 0, added: 0, kept: 3 });
  });
});
