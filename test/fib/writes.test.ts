/**
 * The Linux backend's columnar path (FibManager batch → RTM_NEWROUTE /
 * RTM_DELROUTE bytes without a FibOp or a prefix text per route) sends
 * exactly the bytes of the FibOp path: random batches through both, compared
 * request by request. rtnetlink layouts: linux/rtnetlink.h (struct rtmsg,
 * RTA_*), RFC 3549 §2.3.3.1 for the route message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPrefix, maskBytes, parsePrefix } from '#lib/prefix';
import { PrefixTable } from '#lib/prefix-table';
import { NlWriter } from '#netlink/codec';
import { RouteEncoder, RouteWriteBatch } from '#netlink/batch';
import { BatchWrites, OpWrites } from '#fib/writes';
import { batchOp, OP_ADD, OP_DELETE, OP_REPLACE, type FibBatch, type FibLists, type FibNextHop } from '#fib/types';

const TAG = { table: 3000, protocol: 201, metric: 32 };
const IFINDEX = new Map([
  ['wg-a', 7],
  ['wg-b', 9],
]);

/** Next-hop lists by number, as the FibManager interns them (canonical addresses). */
const LISTS: { hops: FibNextHop[]; backup: FibNextHop[] | null }[] = [
  { hops: [{ address: '10.255.0.1', interface: 'wg-a' }], backup: null },
  { hops: [{ address: 'fd00:255::1', interface: 'wg-b' }], backup: [{ address: 'fd00:255::2', interface: 'wg-a' }] },
  { hops: [{ interface: 'wg-a' }], backup: null },
  {
    hops: [
      { address: 'fe80::1', interface: 'wg-a' },
      { address: 'fe80::2', interface: 'wg-b' },
    ],
    backup: null,
  },
];
const lists: FibLists = { hops: (id) => LISTS[id]!.hops, backup: (id) => LISTS[id]!.backup };

/** A prefix text (canonical) from random bytes: IPv4 or IPv6, any length, host bits cleared. */
const prefixArb = fc.oneof(
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, len]) => formatPrefix({ family: 4, bytes: maskBytes(b, len), len })),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, len]) => formatPrefix({ family: 6, bytes: maskBytes(b, len), len })),
);

const opArb = fc.record({
  prefix: prefixArb,
  kind: fc.constantFrom(OP_ADD, OP_REPLACE, OP_DELETE),
  want: fc.integer({ min: 0, max: LISTS.length - 1 }),
  have: fc.integer({ min: 0, max: LISTS.length - 1 }),
  nhId: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffffffff })),
  advmss: fc.integer({ min: 0, max: 9000 }),
});

function batchOf(ops: { prefix: string; kind: number; want: number; have: number }[]): FibBatch {
  const table = new PrefixTable();
  const n = ops.length;
  // Longer than the batch, as the FibManager's reused arrays are.
  const b = { length: n, kinds: new Uint8Array(n + 3), prefixes: new Int32Array(n + 3), want: new Int32Array(n + 3), have: new Int32Array(n + 3), table, lists };
  ops.forEach((o, i) => {
    b.kinds[i] = o.kind;
    b.prefixes[i] = table.intern(o.prefix);
    b.want[i] = o.kind === OP_DELETE ? -1 : o.want;
    b.have[i] = o.kind === OP_ADD ? -1 : o.have;
  });
  return b;
}

/** Every request of `batch` as runBatch encodes them: one buffer, and the errno (0: encoded) per op. */
function encodeAll(enc: RouteEncoder): { bytes: string; errnos: number[] } {
  const w = new NlWriter(1024);
  const errnos: number[] = [];
  for (let i = 0; i < enc.length; i++) errnos.push(enc.encode(w, 1000 + i, i));
  return { bytes: w.bytes().toString('hex'), errnos };
}

describe('Linux FIB writes from the FibManager columns', () => {
  it('random batches: the columns encode to the very bytes of the FibOp path (prefixes from the table words, next hops or nh ids, advmss)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.boolean(), (ops, withMss) => {
        const batch = batchOf(ops);
        const fibOps = Array.from({ length: batch.length }, (_, i) => batchOp(batch, i));
        const ids = ops.map((o) => (o.kind === OP_DELETE ? 0 : o.nhId));
        const mss = withMss ? ops.map((o) => o.advmss) : undefined;
        const columns = new BatchWrites(batch);
        const viaCols = encodeAll(new RouteEncoder(new RouteWriteBatch(columns, TAG, ids, mss), IFINDEX));
        const viaOps = encodeAll(new RouteEncoder(new RouteWriteBatch(new OpWrites(fibOps), TAG, ids, mss), IFINDEX));
        // And the plain array of FibOps, as routeWrite took them before the columns.
        const viaArray = encodeAll(new RouteEncoder(new RouteWriteBatch(fibOps, TAG, ids, mss), IFINDEX));
        expect(viaCols).toEqual(viaOps);
        expect(viaCols).toEqual(viaArray);
        // The view answers as the objects do.
        for (let i = 0; i < batch.length; i++) {
          expect(columns.prefix(i)).toBe(ops[i]!.prefix);
          expect(columns.v6(i)).toBe(ops[i]!.prefix.includes(':'));
          expect(columns.how(i)).toBe(new OpWrites(fibOps).how(i));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('golden: an IPv6 replace naming nexthop object 0x0a000001, advmss 1360, from the columns (no text)', () => {
    const batch = batchOf([{ prefix: '2001:db8:8000::/33', kind: OP_REPLACE, want: 1, have: 1 }]);
    const { bytes, errnos } = encodeAll(new RouteEncoder(new RouteWriteBatch(new BatchWrites(batch), TAG, [0x0a000001], [1360]), IFINDEX));
    expect(errnos).toEqual([0]);
    // prettier-ignore
    const golden = [
      '54000000', // nlmsg_len 84
      '1800',     // RTM_NEWROUTE
      '0105',     // NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_CREATE (no ACK: runBatch fences the buffer)
      'e8030000', // seq 1000
      '00000000', // pid
      '0a',       // rtm_family AF_INET6
      '21',       // rtm_dst_len 33
      '00',       // rtm_src_len
      '00',       // rtm_tos
      '00',       // rtm_table RT_TABLE_UNSPEC (3000 > 255 travels in RTA_TABLE)
      'c9',       // rtm_protocol 201
      '00',       // rtm_scope RT_SCOPE_UNIVERSE
      '01',       // rtm_type RTN_UNICAST
      '00000000', // rtm_flags
      '0800', '0f00', 'b80b0000', // RTA_TABLE 3000
      '1400', '0100', '20010db8800000000000000000000000', // RTA_DST 2001:db8:8000::
      '0800', '0600', '20000000', // RTA_PRIORITY 32
      '0c00', '0800', '0800', '0800', '50050000', // RTA_METRICS (len 12) { RTAX_ADVMSS (8) 1360 }
      '0800', '1e00', '0100000a', // RTA_NH_ID 0x0a000001
    ].join('');
    expect(bytes).toBe(golden);
  });

  it('a prefix with the high bit set and a /0 go by their words as their text would', () => {
    const batch = batchOf([
      { prefix: '224.0.0.0/4', kind: OP_ADD, want: 0, have: 0 },
      { prefix: '0.0.0.0/0', kind: OP_DELETE, want: 0, have: 0 },
      { prefix: 'ff00::/8', kind: OP_ADD, want: 3, have: 0 },
    ]);
    const v4 = new Uint8Array(4);
    const v6 = new Uint8Array(16);
    const cols = new BatchWrites(batch);
    expect(cols.dst(0, v4, v6)).toBe(4);
    expect([...v4]).toEqual([...parsePrefix('224.0.0.0/4')!.bytes]);
    expect(cols.dst(1, v4, v6)).toBe(0);
    expect(cols.dst(2, v4, v6)).toBe(256 + 8);
    expect([...v6]).toEqual([...parsePrefix('ff00::/8')!.bytes]);
  });
});
