/** Issue 12: the advmss a route through tunnels carries (advmss.ts), without a kernel. */
import { describe, expect, it } from 'vitest';
import { TunnelMss, advmssFor } from '#fib/advmss';
import type { FibOp } from '#fib/types';

describe('TunnelMss', () => {
  it('MTU - 40 for IPv4 (20 IPv4 + 20 TCP), - 60 for IPv6 (40 + 20)', () => {
    expect(advmssFor(1420, false)).toBe(1380);
    expect(advmssFor(1420, true)).toBe(1360);
  });

  it('a multipath route takes the smallest MTU among its tunnels; paths off the tunnels do not count', () => {
    const m = new TunnelMss();
    m.set('wg-a', 1420);
    m.set('wg-b', 1380);
    expect(m.of('10.0.0.0/8', [{ address: '10.255.0.1', interface: 'wg-a' }, { address: '10.255.1.1', interface: 'wg-b' }])).toBe(1340);
    expect(m.of('2001:db8::/32', [{ interface: 'wg-a' }, { interface: 'eth0' }])).toBe(1360);
    expect(m.of('10.0.0.0/8', [{ interface: 'eth0' }, { address: '192.0.2.1' }])).toBe(0);
  });

  it('forBatch: nothing at all while no tunnel has an MTU; then a value per op (0 for deletes and routes off the tunnels)', () => {
    const m = new TunnelMss();
    const hops = [{ address: '10.255.0.1', interface: 'wg-a' }];
    const ops: FibOp[] = [
      { op: 'add', route: { prefix: '10.1.0.0/24', nexthops: hops } },
      { op: 'add', route: { prefix: '2001:db8:1::/48', nexthops: hops } },
      { op: 'delete', prefix: '10.2.0.0/24', previous: { prefix: '10.2.0.0/24', nexthops: hops } },
      { op: 'add', route: { prefix: '10.3.0.0/24', nexthops: [{ interface: 'eth0' }] } },
    ];
    expect(m.forBatch(ops)).toBeUndefined();
    m.set('wg-a', 1400);
    expect([...m.forBatch(ops)!]).toEqual([1360, 1340, 0, 0]);
  });

  it('take(): everything at the first call, then the tunnels whose MTU changed since', () => {
    const m = new TunnelMss();
    m.set('wg-a', 1420);
    expect(m.take()).toBe('all');
    m.set('wg-a', 1420);
    expect([...(m.take() as Set<string>)]).toEqual([]);
    m.set('wg-a', 1400);
    m.set('wg-b', null);
    m.set('wg-c', 1300);
    expect([...(m.take() as Set<string>)].sort()).toEqual(['wg-a', 'wg-c']);
  });
});
