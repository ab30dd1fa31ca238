/**
 * The fake's FIB semantics that PIC relies on, each as a real VPP 26.06 showed
 * it (checked with vppctl on /opt/vpp-26.06; sources: src/vnet/fib/fib_path.c,
 * fib_path_list.c, fib_entry_src.c, src/vnet/ip/ip_api.c): path preference,
 * path identity without preference, recursive paths resolved through another
 * table (with and without RESOLVE_VIA_HOST), the recursive-resolution entries
 * dumps show, and ip_table_dump's names.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '#lib/prefix';
import { FakeState, IF_ADMIN_UP, NH_IP4, NH_IP6, NO_INDEX, PATH_DROP, PATH_FLAG_RESOLVE_VIA_HOST, PATH_NORMAL, type FibPath } from './index.js';

const T = 4000;

function world(): { s: FakeState; wg0: number; wg1: number } {
  const s = new FakeState();
  const wg = (): number => {
    const itf = s.addInterface({ kind: 'loopback' });
    s.setFlags(itf.swIfIndex, IF_ADMIN_UP);
    return itf.swIfIndex;
  };
  const wg0 = wg();
  const wg1 = wg();
  expect(s.tableAddDel(true, 4, T, 'pic')).toBe(0);
  expect(s.tableAddDel(true, 6, T, 'pic')).toBe(0);
  return { s, wg0, wg1 };
}

const direct = (sw: number, nh: string, preference = 0): FibPath => ({
  swIfIndex: sw, tableId: 0, nh, proto: nh.includes(':') ? NH_IP6 : NH_IP4, weight: 1, preference, type: PATH_NORMAL, flags: 0,
});
const rec = (nh: string, preference = 0, flags = PATH_FLAG_RESOLVE_VIA_HOST, table = T): FibPath => ({
  swIfIndex: NO_INDEX, tableId: table, nh, proto: nh.includes(':') ? NH_IP6 : NH_IP4, weight: 1, preference, type: PATH_NORMAL, flags,
});

function put(s: FakeState, prefix: string, paths: FibPath[], opts: { table?: number; isAdd?: boolean; multipath?: boolean } = {}): void {
  const p = parsePrefix(prefix, true)!;
  const [rv] = s.routeAddDel({ isAdd: opts.isAdd ?? true, isMultipath: opts.multipath ?? true, tableId: opts.table ?? 0, family: p.family, address: p.bytes, len: p.len, paths });
  expect(rv).toBe(0);
}

describe('fake VPP FIB: preference and recursion', () => {
  it('forwards over the resolved paths of the best preference; the next preference takes over when they are not resolved', () => {
    const { s, wg0, wg1 } = world();
    put(s, '10.255.1.1/32', [direct(wg0, '10.255.1.1')], { table: T });
    put(s, '10.255.2.1/32', [direct(wg1, '10.255.2.1')], { table: T });
    put(s, '10.9.0.0/24', [rec('10.255.2.1', 1), rec('10.255.1.1', 0)]);
    // Kept sorted by preference, as VPP's path list is.
    expect(s.apiRoutes(4).get('10.9.0.0/24')!.map((p) => p.preference)).toEqual([0, 1]);
    expect(s.forwarding('10.9.0.0/24')).toEqual({ kind: 'forward', via: [{ swIfIndex: wg0, nh: '10.255.1.1', weight: 1 }] });
    // "show ip fib 10.9.0.0/24" after "ip route del 10.255.1.1/32 table 4000 …": pref 1 forwards.
    put(s, '10.255.1.1/32', [], { table: T, isAdd: false, multipath: false });
    expect(s.forwardingInterfaces('10.9.0.0/24')).toEqual([wg1]);
    put(s, '10.255.2.1/32', [], { table: T, isAdd: false, multipath: false });
    expect(s.forwarding('10.9.0.0/24')).toEqual({ kind: 'drop' });
    // A path through an interface that is down is not resolved either.
    put(s, '10.8.0.0/24', [direct(wg0, '10.255.1.1', 0), direct(wg1, '10.255.2.1', 1)]);
    s.setFlags(wg0, 0);
    expect(s.forwardingInterfaces('10.8.0.0/24')).toEqual([wg1]);
  });

  it('path identity leaves preference and weight out: the same path at another preference is a duplicate, kept as it was; a removal takes it whatever its preference', () => {
    const { s } = world();
    put(s, '10.9.0.0/24', [rec('10.255.1.1', 0), rec('10.255.2.1', 1)]);
    put(s, '10.9.0.0/24', [rec('10.255.2.1', 0)]);
    expect(s.apiRoutes(4).get('10.9.0.0/24')!.map((p) => [p.nh, p.preference])).toEqual([['10.255.1.1', 0], ['10.255.2.1', 1]]);
    // Another table is another path.
    expect(s.tableAddDel(true, 4, 4001, '')).toBe(0);
    put(s, '10.9.0.0/24', [rec('10.255.2.1', 0, PATH_FLAG_RESOLVE_VIA_HOST, 4001)], {});
    expect(s.apiRoutes(4).get('10.9.0.0/24')).toHaveLength(3);
    put(s, '10.9.0.0/24', [rec('10.255.2.1', 7)], { isAdd: false });
    expect(s.apiRoutes(4).get('10.9.0.0/24')!.map((p) => [p.nh, p.tableId])).toEqual([['10.255.1.1', T], ['10.255.2.1', 4001]]);
  });

  it('resolve-via-host needs a host entry in the next hop table; without the flag a covering route resolves; an IPv4 route recurses through an IPv6 next hop', () => {
    const { s, wg0, wg1 } = world();
    put(s, '10.255.0.0/16', [direct(wg0, '10.255.1.1')], { table: T });
    put(s, '10.7.0.0/24', [rec('10.255.3.1')]);
    put(s, '10.6.0.0/24', [rec('10.255.3.1', 0, 0)]);
    expect(s.forwarding('10.7.0.0/24')).toEqual({ kind: 'drop' });
    expect(s.forwardingInterfaces('10.6.0.0/24')).toEqual([wg0]);
    put(s, 'fe80::1:2/128', [direct(wg1, 'fe80::1:2')], { table: T });
    put(s, '10.5.0.0/24', [rec('fe80::1:2')]);
    expect(s.forwarding('10.5.0.0/24')).toEqual({ kind: 'forward', via: [{ swIfIndex: wg1, nh: 'fe80::1:2', weight: 1 }] });
  });

  it('dumps show the entries recursive paths resolve through, with their cover\'s paths (the default route\'s drop)', () => {
    const { s, wg0 } = world();
    put(s, '10.255.1.1/32', [direct(wg0, '10.255.1.1')], { table: T });
    put(s, '10.9.0.0/24', [rec('10.255.1.1'), rec('10.255.2.1', 1)]);
    const shown = (): Record<string, string> =>
      Object.fromEntries(s.routes(4, T).filter((r) => r.prefix.startsWith('10.')).map((r) => [r.prefix, `${r.source} ${r.paths.map((p) => (p.type === PATH_DROP ? 'drop' : p.nh)).join(',')}`]));
    expect(shown()).toEqual({ '10.255.1.1/32': 'api 10.255.1.1', '10.255.2.1/32': 'recursive-resolution drop' });
    put(s, '10.255.1.1/32', [], { table: T, isAdd: false, multipath: false });
    expect(shown()).toEqual({ '10.255.1.1/32': 'recursive-resolution drop', '10.255.2.1/32': 'recursive-resolution drop' });
    put(s, '10.9.0.0/24', [], { isAdd: false, multipath: false });
    expect(shown()).toEqual({});
  });

  it('ip_table_add_del keeps the name given; a table added again keeps its first', () => {
    const { s } = world();
    expect(s.table(4, T)?.name).toBe('pic');
    expect(s.tableAddDel(true, 4, T, 'other')).toBe(0);
    expect(s.table(4, T)?.name).toBe('pic');
    expect(s.tableAddDel(true, 4, 5, '')).toBe(0);
    expect(s.table(4, 5)?.name).toBe('ipv4-VRF:5');
  });
});
