/**
 * VppFib's pipelined writes (ip_route_add_del b8ecfe0d through
 * VppClient.bulk) against the scripted responder, through the FibManager:
 * the template bytes equal the generic codec's, the order on the wire, a
 * refused add failing alone (its prefix reported, the rest of the batch
 * written), a replace whose add is refused keeping the old paths, and a
 * connection lost mid-batch leaving exactly the unconfirmed ops pending.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FibManager, type FibOp, type FibRoute } from '#fib/index';
import { batchOp, OP_ADD, OP_DELETE, type FibLists, type FibNextHop } from '#fib/types';
import { VppFib, type VppInterfaceResolver } from '#fib/vpp';
import { encodeFibPath, RouteWrites } from '#fib/vpp-writes';
import { silentLogger } from '#lib/log';
import { PrefixTable } from '#lib/prefix-table';
import { VppClient } from '#vpp/client';
import { encode, type VppRecord } from '#vpp/codec';
import { messageDef } from '#vpp/defs/index';
import { fromVppAddressUnion, fromVppPrefix, toVppAddressUnion, toVppPrefix } from '#vpp/address';
import { Responder } from '../vpp/responder.js';

const log = silentLogger();
const SW: Record<string, number> = { 'wgf-1': 5, 'wgf-2': 6 };
const interfaces: VppInterfaceResolver = {
  swIfIndexOf: (name) => SW[name],
  ownedNameOf: (sw) => Object.keys(SW).find((n) => SW[n] === sw),
  interfaceAddresses: () => [],
  generation: 0,
};

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Setup {
  vpp: Responder;
  fib: VppFib;
  /** The client the fib uses now. */
  client(): VppClient;
  /** Connects the fib to the responder again (after a lost connection). */
  reconnect(): Promise<void>;
}

/** Without ip_table_dump the backend cannot tell the PIC tables are its own: direct paths (the pipelining alone). */
const NO_PIC = { omit: ['ip_table_dump', 'ip_table_details'] } as const;

async function setup(maxInFlight = 64, opts: { omit?: readonly string[] } = NO_PIC): Promise<Setup> {
  const vpp = await Responder.start(opts);
  cleanup.push(() => vpp.close());
  let client: VppClient | null = null;
  const reconnect = async (): Promise<void> => {
    client = await VppClient.connect({ socketPath: vpp.path, log, required: ['ip_route_add_del'], optional: ['ip_table_dump'], maxInFlight });
    const c = client;
    cleanup.push(() => c.close());
  };
  await reconnect();
  const fib = new VppFib({ log, ready: async () => client!, tableId: 0, interfaces });
  return { vpp, fib, reconnect, client: () => client! };
}

const via = (prefix: string, address: string, iface = 'wgf-1'): FibRoute => ({ prefix, nexthops: [{ address, interface: iface }] });
const routes = (n: number, address = '10.255.1.1', iface = 'wgf-1'): FibRoute[] =>
  Array.from({ length: n }, (_, i) => via(`10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`, address, iface));

/** What the responder got: "+ PREFIX NH…" for an add, "- PREFIX NH…" for a removal. */
function wire(vpp: Responder): string[] {
  return vpp.received
    .filter((m) => m.name === 'ip_route_add_del')
    .map(({ values: v }) => {
      const r = v.route as VppRecord;
      const nhs = (r.paths as VppRecord[]).map((p) => fromVppAddressUnion((p.nh as VppRecord).address, p.proto as number));
      expect(v.is_multipath).toBe(true);
      return `${v.is_add ? '+' : '-'} ${fromVppPrefix(r.prefix)} ${nhs.join(',')}`;
    });
}

const prefixOf = (v: VppRecord): string => fromVppPrefix((v.route as VppRecord).prefix);

describe('ip_route_add_del templates (vpp-writes.ts)', () => {
  it('write the same bytes as the generic codec: IPv4, IPv6, ECMP, an IPv4 route via an IPv6 next hop, removals, another table', () => {
    const path = (sw: number, nh: string): VppRecord => ({
      sw_if_index: sw,
      table_id: 0,
      rpf_id: 0,
      weight: 1,
      preference: 0,
      type: 0,
      flags: 0,
      proto: nh.includes(':') ? 1 : 0,
      nh: { address: toVppAddressUnion(nh), via_label: 0, obj_id: 0, classify_table_index: 0 },
      n_labels: 0,
    });
    const cases: { prefix: string; isAdd: boolean; paths: VppRecord[]; table: number }[] = [
      { prefix: '10.1.2.0/24', isAdd: true, paths: [path(5, '10.255.1.1')], table: 0 },
      { prefix: '0.0.0.0/0', isAdd: false, paths: [path(5, '10.255.1.1')], table: 0 },
      { prefix: '192.0.2.255/32', isAdd: true, paths: [path(5, '10.255.1.1'), path(6, '10.255.2.1')], table: 5 },
      { prefix: '198.19.0.0/16', isAdd: true, paths: [path(5, 'fd00:255:1::1')], table: 0 },
      { prefix: '2001:db8:1::/48', isAdd: true, paths: [path(6, 'fd00:255:2::1')], table: 7 },
      { prefix: '::/0', isAdd: false, paths: [path(6, 'fe80::2')], table: 0 },
    ];
    const w = new RouteWrites(cases.length, cases.length, 0);
    for (const [o, c] of cases.entries()) {
      const tw = new RouteWrites(1, 1, c.table);
      expect(tw.setPrefix(0, c.prefix)).toBe(true);
      tw.push(0, c.isAdd, Buffer.concat(c.paths.map(encodeFibPath)));
      const want = encode(messageDef('ip_route_add_del'), 0x1234, {
        client_index: 0x80000000,
        context: 7,
        is_add: c.isAdd,
        is_multipath: true,
        route: { table_id: c.table, prefix: toVppPrefix(c.prefix), paths: c.paths },
      });
      const got = Buffer.alloc(tw.size(0), 0xee);
      got.writeUInt16BE(0x1234, 0);
      got.writeUInt32BE(0x80000000, 2);
      got.writeUInt32BE(7, 6);
      tw.write(0, got, 0);
      expect(got.toString('hex')).toBe(want.toString('hex'));
      // The same request with the prefix from its number (the FibManager's table): its words, no text parsed.
      const prefixes = new PrefixTable();
      const nw = new RouteWrites(1, 1, c.table);
      nw.setPrefixOf(0, prefixes, prefixes.intern(c.prefix));
      nw.push(0, c.isAdd, Buffer.concat(c.paths.map(encodeFibPath)));
      const fromId = Buffer.alloc(nw.size(0), 0xee);
      fromId.writeUInt16BE(0x1234, 0);
      fromId.writeUInt32BE(0x80000000, 2);
      fromId.writeUInt32BE(7, 6);
      nw.write(0, fromId, 0);
      expect(fromId.toString('hex')).toBe(want.toString('hex'));
      expect(w.setPrefix(o, c.prefix)).toBe(true);
    }
    expect(w.setPrefix(0, '10.1.2/24')).toBe(false);
    expect(w.setPrefix(0, '10.1.2.0/33')).toBe(false);
    expect(w.setPrefix(0, 'nonsense')).toBe(false);
  });
});

describe('VppFib pipelined writes', () => {
  it('phase 1 in op order (adds, deletes, the adds of replaces), then the removals of replaced paths', async () => {
    const { vpp, fib } = await setup();
    const a = via('10.0.1.0/24', '10.255.1.1');
    const b = via('10.0.2.0/24', '10.255.1.1');
    expect(await fib.apply([{ op: 'add', route: a }, { op: 'add', route: b }])).toEqual([]);
    vpp.received.length = 0;
    const ops: FibOp[] = [
      { op: 'replace', route: via(a.prefix, '10.255.2.1', 'wgf-2'), previous: a },
      { op: 'add', route: via('10.0.3.0/24', '10.255.1.1') },
      { op: 'delete', prefix: b.prefix, previous: b },
      // ECMP → one of its paths: only the other goes.
      {
        op: 'replace',
        route: via('10.0.4.0/24', '10.255.1.1'),
        previous: { prefix: '10.0.4.0/24', nexthops: [{ address: '10.255.1.1', interface: 'wgf-1' }, { address: '10.255.2.1', interface: 'wgf-2' }] },
      },
    ];
    expect(await fib.apply(ops)).toEqual([]);
    expect(wire(vpp)).toEqual([
      '+ 10.0.1.0/24 10.255.2.1',
      '+ 10.0.3.0/24 10.255.1.1',
      '- 10.0.2.0/24 10.255.1.1',
      '+ 10.0.4.0/24 10.255.1.1',
      '- 10.0.1.0/24 10.255.1.1',
      '- 10.0.4.0/24 10.255.2.1',
    ]);
  });

  it('a refused add fails alone: its prefix is reported and stays pending, the rest of the batch is written', async () => {
    const { vpp, fib } = await setup();
    vpp.on('ip_route_add_del', (v, io) => io.answer('ip_route_add_del_reply', { retval: prefixOf(v) === '10.0.7.0/24' ? -54 : 0, stats_index: 0 }));
    const m = new FibManager(fib);
    for (const r of routes(500)) m.set(r);
    await m.flush();
    expect(m.lastErrors).toEqual(['10.0.7.0/24: VNET_API_ERROR_NO_MATCHING_INTERFACE (-54)']);
    expect(m.pending()).toBe(1);
    expect(wire(vpp)).toHaveLength(500);
    // VPP takes it now: only it is written again.
    vpp.on('ip_route_add_del', (_v, io) => io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 0 }));
    vpp.received.length = 0;
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(m.pending()).toBe(0);
    expect(wire(vpp)).toEqual(['+ 10.0.7.0/24 10.255.1.1']);
  });

  it('a replace whose add is refused keeps the old paths: no removal is sent, the op stays pending', async () => {
    const { vpp, fib } = await setup();
    const m = new FibManager(fib);
    for (const r of routes(3)) m.set(r);
    await m.flush();
    vpp.on('ip_route_add_del', (v, io) => io.answer('ip_route_add_del_reply', { retval: prefixOf(v) === '10.0.1.0/24' && v.is_add ? -3 : 0, stats_index: 0 }));
    vpp.received.length = 0;
    for (const r of routes(3, '10.255.2.1', 'wgf-2')) m.set(r);
    await m.flush();
    expect(m.lastErrors).toEqual(['10.0.1.0/24: VNET_API_ERROR_NO_SUCH_FIB (-3)']);
    expect(wire(vpp)).toEqual([
      '+ 10.0.0.0/24 10.255.2.1',
      '+ 10.0.1.0/24 10.255.2.1',
      '+ 10.0.2.0/24 10.255.2.1',
      '- 10.0.0.0/24 10.255.1.1',
      '- 10.0.2.0/24 10.255.1.1',
    ]);
    expect(m.pending()).toBe(1);
  });

  it('a connection lost mid-batch: what VPP confirmed is installed, every unconfirmed op stays pending and is written after the reconnect', async () => {
    const { vpp, fib, reconnect } = await setup(100);
    let n = 0;
    vpp.on('ip_route_add_del', (_v, io) => {
      if (++n <= 300) io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 0 });
      else if (n === 301) setImmediate(() => io.socket.destroy());
    });
    const m = new FibManager(fib);
    const rs = routes(1000);
    for (const r of rs) m.set(r);
    await m.flush();
    expect(m.pending()).toBe(700);
    expect(m.lastErrors).toHaveLength(700);
    expect(m.lastErrors[0]).toMatch(/^10\.1\.44\.0\/24: ip_route_add_del: VPP closed the API socket/);
    await reconnect();
    vpp.on('ip_route_add_del', (_v, io) => io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 0 }));
    vpp.received.length = 0;
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    expect(m.pending()).toBe(0);
    expect(wire(vpp).sort()).toEqual(rs.slice(300).map((r) => `+ ${r.prefix} 10.255.1.1`).sort());
  });
});

describe('VppFib pipelined writes with PIC (the responder has ip_table_dump: the tables are created and are the agent\'s)', () => {
  it('the PIC host routes go first (the whole entry, in both tables), then the routes with recursive paths; failover is two deletes per next hop', async () => {
    const { vpp, fib } = await setup(64, {});
    const m = new FibManager(fib);
    for (const r of routes(100)) m.set({ ...r, backup: [{ address: '10.255.2.1', interface: 'wgf-2' }] });
    await m.flush();
    expect(m.lastErrors).toEqual([]);
    const sent = vpp.received.filter((r) => r.name === 'ip_route_add_del' || r.name === 'ip_table_add_del');
    const tables = (v: VppRecord): string => `${(v.table as VppRecord).table_id as number}/${(v.table as VppRecord).is_ip6 ? 6 : 4} ${(v.table as VppRecord).name as string}`;
    expect(sent.slice(0, 4).map((r) => tables(r.values)).sort()).toEqual([
      '1790179001/4 wgbgp-pic',
      '1790179001/6 wgbgp-pic',
      '1790179002/4 wgbgp-pic-backup',
      '1790179002/6 wgbgp-pic-backup',
    ]);
    const hosts = sent.slice(4, 8).map(({ values: v }) => {
      const r = v.route as VppRecord;
      const p = (r.paths as VppRecord[])[0]!;
      return `${v.is_add ? '+' : '-'}${v.is_multipath ? 'm' : ''} ${r.table_id as number} ${fromVppPrefix(r.prefix)} sw ${p.sw_if_index as number}`;
    });
    expect(hosts.sort()).toEqual([
      '+ 1790179001 10.255.1.1/32 sw 5',
      '+ 1790179001 10.255.2.1/32 sw 6',
      '+ 1790179002 10.255.1.1/32 sw 5',
      '+ 1790179002 10.255.2.1/32 sw 6',
    ]);
    const rest = sent.slice(8);
    expect(rest).toHaveLength(100);
    const paths = (rest[0]!.values.route as VppRecord).paths as VppRecord[];
    expect(paths.map((p) => [p.sw_if_index, p.table_id, p.preference, p.flags])).toEqual([
      [0xffffffff, 1790179001, 0, 2],
      [0xffffffff, 1790179002, 1, 2],
    ]);
    vpp.received.length = 0;
    expect(await fib.failover(['wgf-1'])).toEqual({ moved: 1, removed: 0 });
    expect(vpp.received.map(({ name, values: v }) => `${name} ${v.is_add ? '+' : '-'}${v.is_multipath ? 'm' : ''} ${(v.route as VppRecord).table_id as number}`).sort()).toEqual([
      'ip_route_add_del - 1790179001',
      'ip_route_add_del - 1790179002',
    ]);
  });
});


describe('VppFib.purgeInterface: batched like the write path', () => {
  const path = (sw: number, nh: string): VppRecord => ({
    sw_if_index: sw,
    table_id: 0,
    rpf_id: 0,
    weight: 1,
    preference: 0,
    type: 0,
    flags: 0,
    proto: 0,
    nh: { address: toVppAddressUnion(nh), via_label: 0, obj_id: 0, classify_table_index: 0 },
    n_labels: 0,
  });

  it('one dump read in place, the removals in one bulk (no request per route): only the paths through the interface go, an operator path on the same prefix stays', async () => {
    const { vpp, fib, client } = await setup(64);
    const N = 3000;
    const prefix = (i: number): string => `10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`;
    // i % 3: 0 = ours via wgf-1 (sw 5) beside an operator's path via sw 9; 1 = ours via wgf-1 alone; 2 = ours via wgf-2 (sw 6).
    const paths = (i: number): VppRecord[] =>
      i % 3 === 0 ? [path(5, '10.255.1.1'), path(9, '192.0.2.254')] : i % 3 === 1 ? [path(5, '10.255.1.1')] : [path(6, '10.255.2.1')];
    vpp.on('ip_route_dump', (v, io) => {
      if ((v.table as VppRecord).is_ip6 === true) return;
      for (let i = 0; i < N; i++) {
        io.answer('ip_route_details', { route: { table_id: 0, stats_index: 0, prefix: toVppPrefix(prefix(i)), n_paths: paths(i).length, paths: paths(i) } });
      }
    });
    // Replies held until 64 requests are outstanding (the window): nothing waits for a reply before the next write.
    let held: (() => void)[] = [];
    vpp.on('ip_route_add_del', (_v, io) => {
      held.push(() => io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 0 }));
      if (held.length === 64 || vpp.received.filter((m) => m.name === 'ip_route_add_del').length === (2 * N) / 3) {
        const go = held;
        held = [];
        for (const f of go) f();
      }
    });
    const c = client();
    const bulk = vi.spyOn(c, 'bulk');
    const request = vi.spyOn(c, 'request');
    expect(await fib.purgeInterface(c, 5)).toBe((2 * N) / 3);
    expect(bulk).toHaveBeenCalledTimes(1);
    expect(request.mock.calls.filter(([name]) => name === 'ip_route_add_del')).toEqual([]);
    const sent = vpp.received
      .filter((m) => m.name === 'ip_route_add_del')
      .map(({ values: v }) => {
        const r = v.route as VppRecord;
        const nhs = (r.paths as VppRecord[]).map((p) => `${fromVppAddressUnion((p.nh as VppRecord).address, p.proto as number)}@${String(p.sw_if_index)}`);
        return `${v.is_add ? '+' : '-'}${v.is_multipath ? 'm' : ''} ${fromVppPrefix(r.prefix)} ${nhs.join(',')}`;
      });
    const want: string[] = [];
    for (let i = 0; i < N; i++) {
      // Only our path of a shared prefix (is_multipath=1, the dumped path's bytes); the whole entry when every path is ours.
      if (i % 3 === 0) want.push(`-m ${prefix(i)} 10.255.1.1@5`);
      else if (i % 3 === 1) want.push(`- ${prefix(i)} `);
    }
    expect(sent).toEqual(want);
  });
});

describe('VppFib.applyBatch: the FibManager columns, no FibOp or text per route', () => {
  /** The request bytes with the client's context (bytes 6..9 after the u16 id and u32 client_index) zeroed. */
  const routeBodies = (vpp: Responder): string[] => {
    const id = vpp.bodies.find((_, i) => vpp.received[i]!.name === 'ip_route_add_del')?.readUInt16BE(0);
    return vpp.bodies
      .filter((b) => b.readUInt16BE(0) === id)
      .map((b) => {
        const c = Buffer.from(b);
        c.fill(0, 6, 10);
        return c.toString('hex');
      });
  };

  it('random batches (adds, replaces, deletes; IPv4 and IPv6; ECMP): byte for byte the requests of apply(FibOps) by text', async () => {
    const lists: FibNextHop[][] = [
      [{ address: '10.255.1.1', interface: 'wgf-1' }],
      [{ address: '10.255.2.1', interface: 'wgf-2' }],
      [
        { address: 'fd00:1::1', interface: 'wgf-1' },
        { address: 'fd00:2::1', interface: 'wgf-2' },
      ],
      [{ address: 'fd00:2::1', interface: 'wgf-2' }],
    ];
    const fibLists: FibLists = { hops: (id) => lists[id]!, backup: () => null };
    // A fixed pseudo-random sequence (xorshift), so a failure is reproducible.
    let x = 0x9e3779b9;
    const rnd = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    for (let round = 0; round < 5; round++) {
      const n = 50 + rnd(200);
      const table = new PrefixTable();
      const batch = { length: n, kinds: new Uint8Array(n), prefixes: new Int32Array(n), want: new Int32Array(n), have: new Int32Array(n), table, lists: fibLists };
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const v6 = rnd(3) === 0;
        let text: string;
        do {
          text = v6 ? `2001:db8:${rnd(0x10000).toString(16)}:${rnd(0x10000).toString(16)}::/64` : `${1 + rnd(223)}.${rnd(256)}.${rnd(256)}.0/24`;
        } while (seen.has(text));
        seen.add(text);
        const kind = rnd(3);
        // IPv4 routes over lists 0-2 (an IPv6 next hop on an IPv4 route is VPP's too), IPv6 over 2-3.
        const list = (): number => (v6 ? 2 + rnd(2) : rnd(3));
        batch.kinds[i] = kind;
        batch.prefixes[i] = table.intern(text);
        batch.want[i] = kind === OP_DELETE ? -1 : list();
        batch.have[i] = kind === OP_ADD ? -1 : list();
      }
      const ops = Array.from({ length: n }, (_, i) => batchOp(batch, i));
      const a = await setup();
      const b = await setup();
      expect(await a.fib.apply(ops)).toEqual([]);
      expect(await b.fib.applyBatch(batch)).toEqual([]);
      const sent = routeBodies(a.vpp);
      expect(sent.length).toBeGreaterThan(n / 2);
      expect(routeBodies(b.vpp)).toEqual(sent);
    }
  });
});
