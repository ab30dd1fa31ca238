/**
 * bgp.multipath at the agent: the FIB gets one route with a next hop per
 * neighbor whose path ties with the best (multipath.ts), `routes PREFIX`
 * marks those paths, a reload switches it without a reset, and the
 * neighbors are still sent the best path alone (no ADD-PATH).
 */
import { describe, expect, it } from 'vitest';
import { MessageType, type PathAttributes, type UpdateMessage } from '#bgp/wire/types';
import type { Config } from '#config/types';
import { config, harness, neighbor } from './harness.js';

const P = '10.9.0.0/24';

function update(prefix: string, attributes: PathAttributes): UpdateMessage {
  return { type: MessageType.Update, withdrawn: [], attributes: { origin: 0, ...attributes }, nlri: [prefix] };
}

function withMultipath(enabled: boolean, maxPaths = 8): Config {
  // a and b in one AS (65010): the same AS_PATH from both; c in its own.
  const cfg = config([neighbor('a', 1, { asn: 65010 }), neighbor('b', 2, { asn: 65010 }), neighbor('c', 3)]);
  return { ...cfg, multipath: { enabled, maxPaths, relaxAsPath: false } };
}

async function up(cfg: Config) {
  const h = await harness(cfg);
  for (const n of ['a', 'b', 'c']) h.sessions.get(n)!.establish();
  h.sessions.get('a')!.update(update(P, { asPath: [{ type: 2, asns: [65010, 65100] }], nextHop: '10.255.1.1' }));
  h.sessions.get('b')!.update(update(P, { asPath: [{ type: 2, asns: [65010, 65100] }], nextHop: '10.255.2.1' }));
  await h.tick(1_000);
  return h;
}

describe('Agent: multipath (ECMP) over two neighbors', () => {
  it('one FIB route with both tunnels as next hops; routes PREFIX marks both paths', async () => {
    const h = await up(withMultipath(true));
    expect(h.fib.table.get(P)?.nexthops).toEqual([
      { address: '10.255.1.1', interface: 'wg-a' },
      { address: '10.255.2.1', interface: 'wg-b' },
    ]);
    const [r] = await h.agent.routes(P);
    expect(r?.nexthops).toEqual([
      { address: '10.255.1.1', interface: 'wg-a' },
      { address: '10.255.2.1', interface: 'wg-b' },
    ]);
    expect(r?.fib).toBe(true);
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath])).toEqual([
      ['a', true, true],
      ['b', false, true],
    ]);
    // Both peers have router id 192.0.2.2: the lower peer address decides the best (§9.1.2.2 g).
    expect(r?.decision?.step).toBe('peer-address');
    // Export stays single best: c is sent the prefix once, with a's path (next hop ours).
    const sent = h.sessions.get('c')!.updatesSent.filter((u) => u.nlri.includes(P));
    expect(sent).toHaveLength(1);
    await h.agent.stop();
  });

  it("a third neighbor's longer path stays out; one session going leaves the route with the other next hop", async () => {
    const h = await up(withMultipath(true));
    h.sessions.get('c')!.update(update(P, { asPath: [{ type: 2, asns: [65005, 65006, 65100] }], nextHop: '10.255.3.1' }));
    await h.tick(1_000);
    expect(h.fib.table.get(P)?.nexthops.map((n) => n.interface)).toEqual(['wg-a', 'wg-b']);
    h.sessions.get('a')!.received(6, 2, new Uint8Array(), 'Cease');
    await h.tick(1_000);
    expect(h.fib.table.get(P)?.nexthops).toEqual([{ address: '10.255.2.1', interface: 'wg-b' }]);
    const [r] = await h.agent.routes(P);
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.multipath])).toEqual([
      ['b', true, false],
      ['c', false, false],
    ]);
    await h.agent.stop();
  });

  it('off (the default): the best path alone; switched on and off by reload without a session reset', async () => {
    const h = await up(withMultipath(false));
    expect(h.fib.table.get(P)?.nexthops).toEqual([{ address: '10.255.1.1', interface: 'wg-a' }]);
    const [r] = await h.agent.routes(P);
    expect(r?.paths?.map((p) => p.multipath)).toEqual([false, false]);

    h.next.config = withMultipath(true);
    expect((await h.agent.reload()).ok).toBe(true);
    await h.tick(1_000);
    expect(h.fib.table.get(P)?.nexthops.map((n) => n.interface)).toEqual(['wg-a', 'wg-b']);

    h.next.config = withMultipath(true, 1);
    expect((await h.agent.reload()).ok).toBe(true);
    await h.tick(1_000);
    expect(h.fib.table.get(P)?.nexthops.map((n) => n.interface)).toEqual(['wg-a']);
    for (const n of ['a', 'b', 'c']) expect(h.sessions.get(n)!.state).toBe('Established');
    await h.agent.stop();
  });
});
