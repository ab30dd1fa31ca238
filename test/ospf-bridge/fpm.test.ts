/**
 * FPM codec: the stream splitter and the netlink decoder, against bytes a real
 * FRR 8.4.4 zebra sent (test/vectors/fpm/*.hex, made by capture.mjs there) and
 * hand-built messages for what the capture cannot show (errors, blackholes,
 * families zebra uses for MPLS).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import { NlWriter } from '#netlink/codec';
import { AF_INET, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_OIF, RTA_TABLE, RTM_NEWROUTE, RTMSG_LEN } from '#netlink/constants';
import {
  decodeFpmPayload,
  encodeFpmFrame,
  FpmDecodeError,
  FpmFramingError,
  FpmSplitter,
  NHA_BLACKHOLE,
  NHA_GROUP,
  NHA_ID,
  NHMSG_LEN,
  RTA_NH_ID,
  RTM_NEWNEXTHOP,
  type FpmMessage,
} from '#ospf/fpm-codec';
import { FpmTable, type FpmRouteChange } from '#ospf/fpm-table';

interface Step {
  label: string;
  frames: Buffer[];
}

/** A vector file: `# --- step N: label` lines open a step; every other non-comment line is one frame in hex. */
function loadVector(name: string): Step[] {
  const text = readFileSync(new URL(`../vectors/fpm/${name}`, import.meta.url), 'utf8');
  const steps: Step[] = [];
  for (const line of text.split('\n')) {
    const step = /^# --- step \d+: (.*)$/.exec(line);
    if (step) steps.push({ label: step[1]!, frames: [] });
    const hex = line.replace(/#.*$/, '').trim();
    if (hex !== '') steps.at(-1)!.frames.push(Buffer.from(hex, 'hex'));
  }
  return steps;
}

const NHG = loadVector('frr-8.4.4-nhg.hex');
const INLINE = loadVector('frr-8.4.4-inline.hex');
const NHG_RESEND = loadVector('frr-8.4.4-nhg-resend.hex');
const ALL_FRAMES = [NHG, INLINE, NHG_RESEND].flatMap((steps) => steps.flatMap((s) => s.frames));

/** Interfaces and peers of the capture (see the vector headers): A's a1 and a2, B's link-local addresses. */
const A1 = 1534;
const A2 = 1536;
const B1_LL = 'fe80::5c1f:25ff:fe05:39bf';
const B2_LL = 'fe80::5491:94ff:fef7:59b6';

function decodeFrame(frame: Buffer): FpmMessage[] {
  const payloads = new FpmSplitter().push(frame);
  expect(payloads).toHaveLength(1);
  return decodeFpmPayload(payloads[0]!);
}

function decodeStep(step: Step): FpmMessage[][] {
  return step.frames.map(decodeFrame);
}

/** The frame of a step whose decoding has a message matching `pred`. */
function find(step: Step, pred: (m: FpmMessage) => boolean): FpmMessage[] {
  const hit = decodeStep(step).find((ms) => ms.some(pred));
  if (!hit) throw new Error(`no such frame in step "${step.label}"`);
  return hit;
}

const routeTo = (prefix: string, op: 'add' | 'delete' = 'add') => (m: FpmMessage) => m.kind === 'route' && m.op === op && m.route.prefix === prefix;
const nexthopId = (id: number) => (m: FpmMessage) => m.kind === 'nexthop' && m.nexthop.id === id;

describe('FPM framing (FpmSplitter)', () => {
  const frame = (n: number, fill = 0xab): Buffer => encodeFpmFrame(Buffer.alloc(n, fill));

  it('the header is version 1, type 1, a big-endian length that counts the header (zebra: 01 01 00 38 …)', () => {
    const first = NHG[0]!.frames[0]!;
    expect([...first.subarray(0, 4)]).toEqual([0x01, 0x01, 0x00, 0x2c]);
    expect(first.length).toBe(0x2c);
    expect(encodeFpmFrame(first.subarray(4))).toEqual(first);
  });

  it('cuts several frames out of one chunk, and one frame out of many chunks', () => {
    const a = frame(16, 1);
    const b = frame(40, 2);
    const c = frame(20, 3);
    const s = new FpmSplitter();
    expect(s.push(Buffer.concat([a, b, c.subarray(0, 3)]))).toEqual([a.subarray(4), b.subarray(4)]);
    expect(s.buffered).toBe(3);
    expect(s.push(c.subarray(3, 5))).toEqual([]);
    expect(s.buffered).toBe(5);
    expect(s.push(c.subarray(5))).toEqual([c.subarray(4)]);
    expect(s.buffered).toBe(0);
  });

  it('takes the largest frame the 16-bit length allows, a byte at a time', () => {
    const big = frame(0xffff - 4, 7);
    const s = new FpmSplitter();
    const out: Buffer[] = [];
    for (let i = 0; i < big.length; i++) out.push(...s.push(big.subarray(i, i + 1)));
    expect(out).toEqual([big.subarray(4)]);
    expect(encodeFpmFrame.bind(null, Buffer.alloc(0xffff - 3))).toThrow(RangeError);
  });

  it.each([
    ['version', Buffer.from([0x02, 0x01, 0x00, 0x14]), /version 2/],
    ['type', Buffer.from([0x01, 0x02, 0x00, 0x14]), /type 2 \(protobuf\).*dplane_fpm_nl/],
    ['length', Buffer.from([0x01, 0x01, 0x00, 0x13]), /length 19/],
    ['length', Buffer.from([0x01, 0x01, 0x00, 0x00]), /length 0/],
  ] as const)('rejects a bad %s with a typed error, and stays failed', (reason, header, message) => {
    const s = new FpmSplitter();
    let caught: unknown;
    try {
      s.push(Buffer.concat([header, Buffer.alloc(32)]));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FpmFramingError);
    expect((caught as FpmFramingError).reason).toBe(reason);
    expect((caught as FpmFramingError).message).toMatch(message);
    expect(() => s.push(frame(16))).toThrow(caught as Error);
  });

  it('rejects garbage found at a header split across chunks', () => {
    const s = new FpmSplitter();
    expect(s.push(Buffer.from('GE', 'latin1'))).toEqual([]);
    expect(() => s.push(Buffer.from('T / HTTP/1.1\r\n', 'latin1'))).toThrow(FpmFramingError);
  });

  it('property: any chunking of zebra\'s captured stream gives the same frames', () => {
    const stream = Buffer.concat(ALL_FRAMES);
    const expected = ALL_FRAMES.map((f) => f.subarray(4));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 200 }), (cuts) => {
        const at = [0, ...cuts.sort((x, y) => x - y), stream.length];
        const s = new FpmSplitter();
        const out: Buffer[] = [];
        for (let i = 1; i < at.length; i++) out.push(...s.push(stream.subarray(at[i - 1], at[i])));
        expect(out).toEqual(expected);
        expect(s.buffered).toBe(0);
      }),
    );
  });

  it('property: any chunking of any valid stream gives the same frames', () => {
    const payload = fc.uint8Array({ minLength: 16, maxLength: 3000 });
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 50 }), (payloads, sizes) => {
        const stream = Buffer.concat(payloads.map((p) => encodeFpmFrame(p)));
        const s = new FpmSplitter();
        const out: Buffer[] = [];
        for (let off = 0, i = 0; off < stream.length; i++) {
          const n = sizes[i % sizes.length]!;
          out.push(...s.push(stream.subarray(off, off + n)));
          off += n;
        }
        expect(out.map((b) => [...b])).toEqual(payloads.map((p) => [...p]));
      }),
    );
  });
});

describe('FPM payload decoding: FRR 8.4.4, next-hop-group mode (vectors/fpm/frr-8.4.4-nhg.hex)', () => {
  it('every frame decodes; the first resend sends the next hops before the routes', () => {
    const kinds = NHG.flatMap((s) => decodeStep(s).flat()).map((m) => (m.kind === 'unknown' ? 'unknown' : `${m.kind}-${m.op}`));
    expect(kinds.filter((k) => k === 'unknown')).toEqual([]);
    const first = decodeStep(NHG[0]!).flat();
    const firstRoute = first.findIndex((m) => m.kind === 'route');
    expect(first.slice(0, firstRoute).every((m) => m.kind === 'nexthop')).toBe(true);
    expect(firstRoute).toBe(12);
  });

  it('a connected route: protocol 2, zebra metric 20, only RTA_NH_ID for its next hop', () => {
    expect(find(NHG[0]!, routeTo('10.10.1.0/24'))).toEqual([
      {
        kind: 'route',
        op: 'add',
        route: { family: 4, prefix: '10.10.1.0/24', table: 254, protocol: 2, type: 1, metric: 20, nexthops: [], nhId: 6 },
      },
    ]);
    expect(find(NHG[0]!, nexthopId(6))).toEqual([{ kind: 'nexthop', op: 'add', nexthop: { id: 6, family: 4, ifindex: 2 } }]);
  });

  it('RTM_NEWNEXTHOP: a gateway next hop (NHA_GATEWAY + NHA_OIF) and an ECMP group (NHA_GROUP, weights stored minus one)', () => {
    expect(find(NHG[0]!, nexthopId(29))).toEqual([
      { kind: 'nexthop', op: 'add', nexthop: { id: 29, family: 4, address: '10.255.0.1', ifindex: A1 } },
    ]);
    expect(find(NHG[0]!, nexthopId(28))).toEqual([
      { kind: 'nexthop', op: 'add', nexthop: { id: 28, group: [{ id: 29, weight: 1 }, { id: 30, weight: 1 }] } },
    ]);
    expect(find(NHG[0]!, nexthopId(37))).toEqual([
      { kind: 'nexthop', op: 'add', nexthop: { id: 37, family: 6, address: B2_LL, ifindex: A2 } },
    ]);
  });

  it('an OSPFv2 route (protocol 188) names its group', () => {
    expect(find(NHG[0]!, routeTo('10.10.2.0/24'))).toEqual([
      {
        kind: 'route',
        op: 'add',
        route: { family: 4, prefix: '10.10.2.0/24', table: 254, protocol: 188, type: 1, metric: 20, nexthops: [], nhId: 28 },
      },
    ]);
  });

  it('an OSPFv3 route update is one frame: RTM_DELROUTE then RTM_NEWROUTE (protocol 188 as well)', () => {
    expect(find(NHG[0]!, routeTo('fd00:10:2::/64', 'delete'))).toEqual([
      {
        kind: 'route',
        op: 'delete',
        route: { family: 6, prefix: 'fd00:10:2::/64', table: 254, protocol: 188, type: 0, metric: 20, nexthops: [] },
      },
      {
        kind: 'route',
        op: 'add',
        route: { family: 6, prefix: 'fd00:10:2::/64', table: 254, protocol: 188, type: 1, metric: 20, nexthops: [], nhId: 36 },
      },
    ]);
  });

  it('a withdrawn route: RTM_DELROUTE alone, type 0, no next hop', () => {
    expect(find(NHG[1]!, routeTo('10.10.3.0/24', 'delete'))).toEqual([
      {
        kind: 'route',
        op: 'delete',
        route: { family: 4, prefix: '10.10.3.0/24', table: 254, protocol: 188, type: 0, metric: 20, nexthops: [] },
      },
    ]);
    expect(find(NHG[1]!, routeTo('fd00:10:3::/64', 'delete'))).toHaveLength(1);
  });
});

describe('FPM payload decoding: FRR 8.4.4, `no fpm use-next-hop-groups` (vectors/fpm/frr-8.4.4-inline.hex)', () => {
  it('no nexthop objects and no RTA_NH_ID in this mode', () => {
    const all = INLINE.flatMap((s) => decodeStep(s).flat());
    // 18 frames, 4 of them route updates (RTM_DELROUTE + RTM_NEWROUTE).
    expect(INLINE.flatMap((s) => s.frames)).toHaveLength(18);
    expect(all).toHaveLength(22);
    expect(all.every((m) => m.kind === 'route' && m.route.nhId === undefined)).toBe(true);
  });

  it('an IPv4 ECMP route: RTA_MULTIPATH, one rtnexthop per path with RTA_GATEWAY, weight 1', () => {
    expect(find(INLINE[0]!, routeTo('10.10.2.0/24'))).toEqual([
      {
        kind: 'route',
        op: 'add',
        route: {
          family: 4,
          prefix: '10.10.2.0/24',
          table: 254,
          protocol: 188,
          type: 1,
          metric: 20,
          nexthops: [
            { address: '10.255.0.1', ifindex: A1, weight: 1 },
            { address: '10.255.0.3', ifindex: A2, weight: 1 },
          ],
        },
      },
    ]);
  });

  it('an IPv6 ECMP route over link-local next hops', () => {
    const [m] = find(INLINE[0]!, routeTo('fd00:10:2::/64'));
    expect(m).toMatchObject({
      route: {
        family: 6,
        protocol: 188,
        nexthops: [
          { address: B2_LL, ifindex: A2, weight: 1 },
          { address: B1_LL, ifindex: A1, weight: 1 },
        ],
      },
    });
  });

  it('a connected route carries only RTA_OIF', () => {
    expect(find(INLINE[0]!, routeTo('10.255.0.0/31'))).toEqual([
      {
        kind: 'route',
        op: 'add',
        route: { family: 4, prefix: '10.255.0.0/31', table: 254, protocol: 2, type: 1, metric: 20, nexthops: [{ ifindex: A1 }] },
      },
    ]);
  });

  it('ECMP to one path: RTM_DELROUTE + RTM_NEWROUTE with RTA_GATEWAY and RTA_OIF inline', () => {
    const ms = find(INLINE[3]!, routeTo('fd00:10:2::/64'));
    expect(ms.map((m) => (m.kind === 'route' ? m.op : m.kind))).toEqual(['delete', 'add']);
    expect(ms[1]).toMatchObject({ route: { nexthops: [{ address: B1_LL, ifindex: A1 }] } });
    expect(ms[1]!.kind === 'route' && ms[1]!.route.nexthops[0]!.weight).toBe(undefined);
  });
});

describe('FPM payload decoding: what the capture does not show', () => {
  function routeMsg(fill: (w: NlWriter) => void, family = AF_INET, table = 254): Buffer {
    const w = new NlWriter(256);
    const start = w.begin(RTM_NEWROUTE, 0x501, 0);
    const at = w.header(RTMSG_LEN);
    w.buf[at] = family;
    w.buf[at + 1] = 24;
    w.buf[at + 4] = table < 256 ? table : 0;
    w.buf[at + 5] = 188;
    w.buf[at + 7] = 1;
    fill(w);
    w.end(start);
    return Buffer.from(w.bytes());
  }

  it('RTA_TABLE above 255, host bits cleared, no RTA_PRIORITY (metric null), weights from rtnh_hops', () => {
    const msg = routeMsg((w) => {
      w.attrU32(RTA_TABLE, 1000);
      w.attr(RTA_DST, Uint8Array.of(10, 9, 8, 7));
      const mp = w.beginNest(RTA_MULTIPATH);
      for (const [gw, oif, hops] of [[[192, 0, 2, 1], 5, 0], [[192, 0, 2, 2], 6, 2]] as const) {
        const nh = w.beginNexthop(oif);
        w.buf[nh + 3] = hops;
        w.attr(RTA_GATEWAY, Uint8Array.from(gw));
        w.endNexthop(nh);
      }
      w.endNest(mp);
    });
    expect(decodeFpmPayload(msg)).toEqual([
      {
        kind: 'route',
        op: 'add',
        route: {
          family: 4,
          prefix: '10.9.8.0/24',
          table: 1000,
          protocol: 188,
          type: 1,
          metric: null,
          nexthops: [
            { address: '192.0.2.1', ifindex: 5, weight: 1 },
            { address: '192.0.2.2', ifindex: 6, weight: 3 },
          ],
        },
      },
    ]);
  });

  it('a blackhole route (rtm_type 6, no next hop) and a blackhole nexthop object', () => {
    const route = routeMsg((w) => w.attr(RTA_DST, Uint8Array.of(10, 9, 0, 0)));
    route[16 + 7] = 6;
    expect(decodeFpmPayload(route)).toMatchObject([{ route: { prefix: '10.9.0.0/24', type: 6, nexthops: [] } }]);
    const w = new NlWriter(64);
    const start = w.begin(RTM_NEWNEXTHOP, 0x501, 0);
    w.header(NHMSG_LEN);
    w.attrU32(NHA_ID, 99);
    w.attr(NHA_BLACKHOLE, new Uint8Array(0));
    w.end(start);
    expect(decodeFpmPayload(Buffer.from(w.bytes()))).toEqual([{ kind: 'nexthop', op: 'add', nexthop: { id: 99, blackhole: true } }]);
  });

  it('a group weight is stored minus one (255 → 256)', () => {
    const w = new NlWriter(64);
    const start = w.begin(RTM_NEWNEXTHOP, 0, 0);
    w.header(NHMSG_LEN);
    w.attrU32(NHA_ID, 7);
    const grp = Buffer.alloc(16);
    grp.writeUInt32LE(1, 0);
    grp[4] = 255;
    grp.writeUInt32LE(2, 8);
    w.attr(NHA_GROUP, grp);
    w.end(start);
    expect(decodeFpmPayload(Buffer.from(w.bytes()))).toEqual([
      { kind: 'nexthop', op: 'add', nexthop: { id: 7, group: [{ id: 1, weight: 256 }, { id: 2, weight: 1 }] } },
    ]);
  });

  it('other messages are unknown, not errors: an MPLS LSP (family 28), a neighbour (RTM_NEWNEIGH)', () => {
    expect(decodeFpmPayload(routeMsg(() => {}, 28))).toEqual([{ kind: 'unknown', type: RTM_NEWROUTE, family: 28 }]);
    const w = new NlWriter(64);
    w.end(w.begin(28, 0, 0));
    w.header(12);
    expect(decodeFpmPayload(Buffer.from(w.bytes()))).toEqual([{ kind: 'unknown', type: 28 }]);
  });

  it('unreadable payloads are FpmDecodeError: overrunning lengths, a short rtmsg, a nexthop without NHA_ID, no message at all', () => {
    const good = routeMsg((w) => w.attr(RTA_DST, Uint8Array.of(10, 9, 8, 0)));
    const overrun = Buffer.from(good);
    overrun.writeUInt16LE(200, 16 + RTMSG_LEN);
    expect(() => decodeFpmPayload(overrun)).toThrow(FpmDecodeError);
    const long = Buffer.from(good);
    long.writeUInt32LE(good.length + 4, 0);
    expect(() => decodeFpmPayload(long)).toThrow(FpmDecodeError);
    const short = Buffer.alloc(20);
    short.writeUInt32LE(20, 0);
    short.writeUInt16LE(RTM_NEWROUTE, 4);
    expect(() => decodeFpmPayload(short)).toThrow(/rtmsg of 4 bytes/);
    const w = new NlWriter(64);
    const start = w.begin(RTM_NEWNEXTHOP, 0, 0);
    w.header(NHMSG_LEN);
    w.attrU32(RTA_OIF, 3);
    w.end(start);
    expect(() => decodeFpmPayload(Buffer.from(w.bytes()))).toThrow(/without NHA_ID/);
    expect(() => decodeFpmPayload(Buffer.alloc(8))).toThrow(FpmDecodeError);
    expect(RTA_NH_ID).toBe(30);
  });
});

describe('the captured streams through FpmTable (OSPF routes only, as the agent sees them)', () => {
  const ecmp4 = {
    family: 4,
    prefix: '10.10.2.0/24',
    table: 254,
    protocol: 188,
    type: 1,
    metric: 20,
    nexthops: [
      { address: '10.255.0.1', ifindex: A1, weight: 1 },
      { address: '10.255.0.3', ifindex: A2, weight: 1 },
    ],
  };
  const ecmp6 = {
    ...ecmp4,
    family: 6,
    prefix: 'fd00:10:2::/64',
    nexthops: [
      { address: B2_LL, ifindex: A2, weight: 1 },
      { address: B1_LL, ifindex: A1, weight: 1 },
    ],
  };

  /** Applies each step frame by frame (the worst case: no two frames read together); the changes per step. */
  function replay(table: FpmTable, steps: Step[]): FpmRouteChange[][] {
    const log: FpmRouteChange[] = [];
    const off = table.subscribe((cs) => log.push(...cs));
    const out = steps.map((s) => {
      const from = log.length;
      for (const f of s.frames) table.apply(decodeFrame(f));
      return log.slice(from);
    });
    off();
    return out;
  }

  const brief = (cs: FpmRouteChange[]) => cs.map((c) => `${c.op} ${c.route.prefix} ${c.route.nexthops.map((n) => n.address ?? `if${n.ifindex}`).join(',')}`);

  it('connection 1: groups resolve to their members; an update is a replace, never a delete and an add', () => {
    const clock = new ManualClock();
    const table = new FpmTable({ clock });
    table.connect();
    const [first, removed, oneLink, back] = replay(table, NHG);
    expect(brief(first!)).toEqual([
      'add 10.10.2.0/24 10.255.0.1,10.255.0.3',
      'add 10.10.3.0/24 10.255.0.1,10.255.0.3',
      `add fd00:10:2::/64 ${B1_LL}`,
      `add fd00:10:3::/64 ${B1_LL}`,
      `replace fd00:10:2::/64 ${B2_LL},${B1_LL}`,
      `replace fd00:10:3::/64 ${B2_LL},${B1_LL}`,
    ]);
    expect(brief(removed!)).toEqual(['delete 10.10.3.0/24 10.255.0.1,10.255.0.3', `delete fd00:10:3::/64 ${B2_LL},${B1_LL}`]);
    expect(brief(oneLink!)).toEqual([`replace fd00:10:2::/64 ${B1_LL}`, 'replace 10.10.2.0/24 10.255.0.1']);
    expect(brief(back!)).toEqual(['replace 10.10.2.0/24 10.255.0.1,10.255.0.3', `replace fd00:10:2::/64 ${B2_LL},${B1_LL}`]);
    expect(table.routes()).toEqual([ecmp4, ecmp6]);
    expect(table.counters).toMatchObject({ connects: 1, unknownMessages: 0, decodeErrors: 0 });
  });

  it('reconnects: the inline resend and the next-hop-group resend (groups before their members) change nothing', () => {
    const clock = new ManualClock();
    const table = new FpmTable({ clock });
    table.connect();
    replay(table, NHG);
    table.disconnect();
    clock.advance(5_000);

    table.connect();
    const [resend, added, removed, oneLink, back] = replay(table, INLINE);
    expect(resend).toEqual([]);
    expect(brief(added!)).toEqual(['add 10.10.3.0/24 10.255.0.1,10.255.0.3']);
    expect(brief(removed!)).toEqual(['delete 10.10.3.0/24 10.255.0.1,10.255.0.3']);
    expect(brief(oneLink!)).toEqual([`replace fd00:10:2::/64 ${B1_LL}`, 'replace 10.10.2.0/24 10.255.0.1']);
    expect(brief(back!)).toEqual(['replace 10.10.2.0/24 10.255.0.1,10.255.0.3', `replace fd00:10:2::/64 ${B2_LL},${B1_LL}`]);
    clock.advance(60_000);

    table.connect();
    const [again] = replay(table, NHG_RESEND);
    expect(again).toEqual([]);
    const events: unknown[] = [];
    table.watch((e) => events.push(e));
    clock.advance(3_000);
    expect(events).toEqual([{ kind: 'resync-done', reason: 'settled', ms: 3_000, routes: 2, withdrawn: 0, unresolved: 0 }]);
    expect(table.routes()).toEqual([ecmp4, ecmp6]);
    expect(table.state()).toMatchObject({ phase: 'synced', routes: 2, stale: 0, announced: 2, unresolved: 0 });
  });
});
