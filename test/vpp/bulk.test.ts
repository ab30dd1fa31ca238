/**
 * VppClient.bulk against the scripted responder (fact sheet §5: pipelining):
 * wire order and the window, replies matched by context whatever their order,
 * a refused request failing alone, a connection lost or a VPP gone quiet
 * mid-bulk (what was answered is confirmed, the rest is not), and the frame
 * reader's in-place scan.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { VppClient, type BulkRequests } from '#vpp/client';
import { encode, type VppRecord } from '#vpp/codec';
import { messageDef } from '#vpp/defs/index';
import { VppClosedError, VppTimeoutError } from '#vpp/errors';
import { frame, FrameReader } from '#vpp/framing';
import { toVppAddressUnion, toVppPrefix } from '#vpp/address';
import { Responder } from './responder.js';

const log = silentLogger();
const REQUIRED = ['sw_interface_set_flags', 'ip_route_add_del'] as const;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(clientOpts: Partial<Parameters<typeof VppClient.connect>[0]> = {}): Promise<{ vpp: Responder; client: VppClient }> {
  const vpp = await Responder.start();
  cleanup.push(() => vpp.close());
  const client = await VppClient.connect({ socketPath: vpp.path, log, required: REQUIRED, ...clientOpts });
  cleanup.push(() => client.close());
  return { vpp, client };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
};

/** Route i: table_id i tells the requests apart at the responder. */
const route = (i: number): VppRecord => ({
  is_add: true,
  is_multipath: true,
  route: {
    table_id: i,
    prefix: toVppPrefix(`10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`),
    paths: [{ sw_if_index: 5, proto: 0, weight: 1, nh: { address: toVppAddressUnion('10.255.0.1') } }],
  },
});

/** n ip_route_add_del requests, encoded once by the generic codec; the client writes the header. */
function routes(n: number): BulkRequests {
  const bodies = Array.from({ length: n }, (_, i) => encode(messageDef('ip_route_add_del'), 0, route(i)));
  return {
    name: 'ip_route_add_del',
    count: n,
    size: (i) => bodies[i]!.length,
    write: (i, buf, at) => {
      bodies[i]!.copy(buf, at + 10, 10);
    },
  };
}

const tableOf = (v: VppRecord): number => (v.route as VppRecord).table_id as number;
const routeRequests = (vpp: Responder): VppRecord[] => vpp.received.filter((m) => m.name === 'ip_route_add_del').map((m) => m.values);

describe('VppClient.bulk (fact sheet §5)', () => {
  it('5000 requests go out in order, in large writes, never more than the window outstanding; each reply found by its context', async () => {
    const { vpp, client } = await setup({ maxInFlight: 256 });
    let outstanding = 0;
    let maxOutstanding = 0;
    let chunks = 0;
    vpp.sockets.forEach((s) => s.on('data', () => chunks++));
    vpp.on('ip_route_add_del', (v, io) => {
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      // Later, so requests pile up against the window.
      setImmediate(() => {
        outstanding--;
        io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 0 });
      });
    });
    const r = await client.bulk(routes(5000));
    expect(r.error).toBeNull();
    expect(r.confirmed).toBe(5000);
    expect(r.answered.every((a) => a === 1)).toBe(true);
    const got = routeRequests(vpp);
    expect(got.map(tableOf)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    // One context per request, consecutive: matched as a range.
    const base = got[0]!.context as number;
    expect(got.every((v, i) => v.context === base + i)).toBe(true);
    expect(maxOutstanding).toBeLessThanOrEqual(256);
    expect(maxOutstanding).toBeGreaterThan(64);
    expect(chunks).toBeLessThan(5000 / 20);
    expect(client.pending).toEqual({ inFlight: 0, queued: 0 });
  });

  it('replies are matched by context, not by their order; a refused request fails alone and the rest goes on', async () => {
    const { vpp, client } = await setup({ maxInFlight: 64 });
    const held: { v: VppRecord; answer: (retval: number) => void }[] = [];
    vpp.on('ip_route_add_del', (v, io) => {
      held.push({ v, answer: (retval) => io.answer('ip_route_add_del_reply', { retval, stats_index: 0 }) });
      if (held.length === 1) {
        // Answer what came in this turn backwards, each refused when its table is a multiple of 7.
        setImmediate(() => {
          for (const h of held.splice(0).reverse()) h.answer(tableOf(h.v) % 7 === 0 ? -54 : 0);
        });
      }
    });
    const errorsBefore = client.counters.errors;
    const r = await client.bulk(routes(1000));
    expect(r.error).toBeNull();
    expect(r.confirmed).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(r.retval[i]).toBe(i % 7 === 0 ? -54 : 0);
    expect(client.counters.errors - errorsBefore).toBe(Math.ceil(1000 / 7));
  });

  it('requests made before and after a bulk keep their places on the wire', async () => {
    const { vpp, client } = await setup({ maxInFlight: 100 });
    const before = client.request('sw_interface_set_flags', { sw_if_index: 1 });
    const bulk = client.bulk(routes(300));
    const after = client.request('sw_interface_set_flags', { sw_if_index: 2 });
    await Promise.all([before, bulk, after]);
    const order = vpp.received.filter((m) => m.name !== 'sockclnt_create').map((m) => (m.name === 'ip_route_add_del' ? 'route' : `flags ${String(m.values.sw_if_index)}`));
    expect(order).toEqual(['flags 1', ...Array<string>(300).fill('route'), 'flags 2']);
  });

  it('a connection lost mid-bulk: what VPP answered is confirmed, the rest unanswered with the reason; a bulk still queued too', async () => {
    const { vpp, client } = await setup({ maxInFlight: 200 });
    let n = 0;
    vpp.on('ip_route_add_del', (_v, io) => {
      if (++n <= 150) io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 0 });
      else if (n === 151) setImmediate(() => io.socket.destroy());
    });
    const first = client.bulk(routes(1000));
    const second = client.bulk(routes(10));
    const [a, b] = await Promise.all([first, second]);
    expect(a.error).toBeInstanceOf(VppClosedError);
    expect(a.confirmed).toBe(150);
    expect([...a.answered.subarray(0, 150)].every((x) => x === 1)).toBe(true);
    expect([...a.answered.subarray(150)].every((x) => x === 0)).toBe(true);
    expect(b.error).toBeInstanceOf(VppClosedError);
    expect(b.confirmed).toBe(0);
    expect(client.pending).toEqual({ inFlight: 0, queued: 0 });
    expect((await client.bulk(routes(1))).error).toBeInstanceOf(VppClosedError);
  });

  it('VPP answering nothing for the timeout ends the bulk (VppTimeoutError); while it answers, it keeps waiting', async () => {
    const clock = new ManualClock();
    const { vpp, client } = await setup({ clock, timeoutMs: 1000, maxInFlight: 100 });
    let n = 0;
    const late: (() => void)[] = [];
    vpp.on('ip_route_add_del', (_v, io) => {
      const answer = (): void => io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 0 });
      if (++n <= 150) answer();
      else late.push(answer);
    });
    const result = client.bulk(routes(300));
    // 150 answered, then a full window written and stuck.
    await until(() => n === 250);
    clock.advance(1000); // answers came since it started: another second
    clock.advance(999);
    expect(client.pending.inFlight).toBe(100);
    clock.advance(1);
    const r = await result;
    expect(r.error).toBeInstanceOf(VppTimeoutError);
    expect(r.confirmed).toBe(150);
    expect(client.counters.timeouts).toBe(1);
    expect(client.pending).toEqual({ inFlight: 0, queued: 0 });
    // A late reply matches nothing any more; the connection carries on.
    for (const answer of late) answer();
    expect((await client.request('sw_interface_set_flags', { sw_if_index: 5 })).retval).toBe(0);
  });
});

describe('FrameReader.scan', () => {
  it('finds the same bodies as push, however the stream is cut', () => {
    const bodies = [Buffer.from([0, 1, 2]), Buffer.alloc(0), Buffer.from('a longer body of a message'), Buffer.from([9])];
    const stream = Buffer.concat(bodies.map((b) => frame(b)));
    for (let cut = 0; cut <= stream.length; cut++) {
      for (const step of [1, 7, stream.length]) {
        const reader = new FrameReader();
        const seen: string[] = [];
        const parts = [stream.subarray(0, cut)];
        for (let o = cut; o < stream.length; o += step) parts.push(stream.subarray(o, Math.min(stream.length, o + step)));
        for (const p of parts) reader.scan(p, (buf, start, len) => seen.push(buf.subarray(start, start + len).toString('hex')));
        expect(seen).toEqual(bodies.map((b) => b.toString('hex')));
        expect(reader.buffered).toBe(0);
      }
    }
  });
});
