/**
 * Route refresh at the agent, both directions (src/agent/refresh.ts): the
 * answer to a peer's ROUTE-REFRESH (RFC 2918 §4, RFC 7313 §4 BoRR/EoRR
 * around it, in bursts, restarted by a new request), `refreshInbound`, and
 * the peer's enhanced refresh marking and sweeping its paths (RFC 7313 §4)
 * without tripping over graceful restart's End-of-RIB (RFC 4724).
 */
import { describe, expect, it } from 'vitest';
import { MessageType } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';
import { EORR_TIMEOUT_MS, RESEND_STEP } from '#agent/refresh';
import { BACKLOG_HIGH } from '#agent/table-send';
import { announce, config, harness, neighbor } from './harness.js';
import type { ScriptedSession } from './harness.js';

const REQUEST = 0;
const BORR = 1;
const EORR = 2;

/** IPv4 prefixes announced in `updates` (classic NLRI and MP_REACH). */
function announced(updates: readonly UpdateMessage[]): string[] {
  return updates.flatMap((u) => [...u.nlri, ...(u.mpReach?.nlri ?? [])]);
}

function many(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`);
}

function prefixes(routes: { prefix: string; neighbor: string | null }[], from: string): string[] {
  return routes
    .filter((r) => r.neighbor === from)
    .map((r) => r.prefix)
    .sort();
}

async function twoPeers(over: { enhanced: boolean }) {
  const h = await harness(config([neighbor('a', 1), neighbor('b', 2)]));
  const a = h.sessions.get('a')!;
  const b = h.sessions.get('b')!;
  a.establish(over.enhanced ? { enhancedRouteRefresh: true } : {});
  b.establish({ enhancedRouteRefresh: true });
  return { h, a, b };
}

function refreshFrom(s: ScriptedSession, afi: number, subtype: number): void {
  s.handler.onRouteRefresh!(afi, 1, subtype);
}

describe('answering a ROUTE-REFRESH (outbound)', () => {
  it('paced by the socket: while more than BACKLOG_HIGH waits in it, the re-advertisement waits for a drain', async () => {
    const { h, a, b } = await twoPeers({ enhanced: true });
    b.update({ ...announce(['10.2.0.0/24']), attributes: { origin: 0, asPath: [{ type: 2, asns: [65004] }], nextHop: '10.255.2.1' } });
    await h.tick(100);
    a.updatesSent.length = 0;
    a.sendBacklog = BACKLOG_HIGH + 1;
    refreshFrom(a, 1, REQUEST);
    await h.tick(100);
    // BoRR went out; the routes wait for the socket.
    expect(a.refreshes).toEqual([{ afi: 1, safi: 1, subtype: BORR }]);
    expect(a.updatesSent).toEqual([]);
    a.drain();
    await h.tick(100);
    expect(announced(a.updatesSent).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(a.refreshes.at(-1)).toEqual({ afi: 1, safi: 1, subtype: EORR });
  });

  it('RFC 7313 §4: the Adj-RIB-Out of the family again, between BoRR and EoRR; only that family', async () => {
    const { h, a, b } = await twoPeers({ enhanced: true });
    b.update({ ...announce(['10.2.0.0/24', '10.2.1.0/24']), attributes: { origin: 0, asPath: [{ type: 2, asns: [65004] }], nextHop: '10.255.2.1' } });
    await h.tick(100);
    const before = announced(a.updatesSent);
    expect(before).toEqual(expect.arrayContaining(['10.1.0.0/24', '10.2.0.0/24', '10.2.1.0/24']));
    a.updatesSent.length = 0;
    refreshFrom(a, 1, REQUEST);
    await h.tick(100);
    expect(a.refreshes).toEqual([
      { afi: 1, safi: 1, subtype: BORR },
      { afi: 1, safi: 1, subtype: EORR },
    ]);
    expect(announced(a.updatesSent).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.2.1.0/24']);
    // The same attributes as first sent: the Adj-RIB-Out as it stands, not a new export.
    expect(a.updatesSent.every((u) => u.type === MessageType.Update && u.withdrawn.length === 0)).toBe(true);
    const json = h.agent.neighbors().find((n) => n.name === 'a')!;
    expect(json.routeRefresh).toMatchObject({ received: 1, sent: 0, answered: 1, resending: [] });
    expect(json.routeRefresh!.lastReceived).not.toBeNull();
  });

  it('RFC 2918 §4: without enhanced route refresh the routes go again with no BoRR/EoRR', async () => {
    const { h, a } = await twoPeers({ enhanced: false });
    await h.tick(100);
    a.updatesSent.length = 0;
    refreshFrom(a, 1, REQUEST);
    await h.tick(100);
    expect(a.refreshes).toEqual([]);
    expect(announced(a.updatesSent)).toEqual(['10.1.0.0/24']);
  });

  it('a full table goes in bursts of RESEND_STEP with the event loop turning between; a new request restarts it (RFC 7313 §4)', async () => {
    const { h, a, b } = await twoPeers({ enhanced: true });
    const table = many(3 * RESEND_STEP + 100);
    for (let i = 0; i < table.length; i += 2000) {
      b.update({ ...announce(table.slice(i, i + 2000)), attributes: { origin: 0, asPath: [{ type: 2, asns: [65004] }], nextHop: '10.255.2.1' } });
    }
    await h.tick(100);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.prefixesAdvertised).toBe(table.length + 1);
    a.updatesSent.length = 0;
    refreshFrom(a, 1, REQUEST);
    // Synchronously only the first burst went out.
    expect(announced(a.updatesSent)).toHaveLength(RESEND_STEP);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.routeRefresh!.resending).toEqual(['ipv4-unicast']);
    await new Promise((r) => setImmediate(r));
    refreshFrom(a, 1, REQUEST);
    await h.tick(100);
    expect(a.refreshes.map((r) => r.subtype)).toEqual([BORR, BORR, EORR]);
    const sent = announced(a.updatesSent);
    // Two bursts of the first run, then the whole table after the second BoRR.
    expect(sent.length).toBe(2 * RESEND_STEP + table.length + 1);
    expect(new Set(sent.slice(2 * RESEND_STEP)).size).toBe(table.length + 1);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.routeRefresh).toMatchObject({ received: 2, answered: 1, resending: [] });
  });

  it('a session going down ends the re-advertisement (no EoRR on the next session)', async () => {
    const { h, a, b } = await twoPeers({ enhanced: true });
    b.update({ ...announce(many(2 * RESEND_STEP)), attributes: { origin: 0, asPath: [{ type: 2, asns: [65004] }], nextHop: '10.255.2.1' } });
    await h.tick(100);
    refreshFrom(a, 1, REQUEST);
    a.received(6, 4, new Uint8Array(0), 'Cease');
    await h.tick(100);
    expect(a.refreshes.map((r) => r.subtype)).toEqual([BORR]);
  });
});

describe('refreshInbound (requesting)', () => {
  it('RFC 2918 §4: a request per negotiated family; not-established and not-supported otherwise', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const b = h.sessions.get('b')!;
    expect(h.agent.refreshInbound('b')).toBe('not-established');
    expect(() => h.agent.refreshInbound('nobody')).toThrow(/no BGP neighbor named "nobody"/);
    b.establish({ routeRefresh: false });
    expect(h.agent.refreshInbound('b')).toBe('not-supported');
    expect(b.refreshes).toEqual([]);
    b.received(6, 4, new Uint8Array(0), 'Cease');
    b.establish();
    expect(h.agent.refreshInbound('b')).toBe('sent');
    expect(b.refreshes).toEqual([
      { afi: 1, safi: 1, subtype: REQUEST },
      { afi: 2, safi: 1, subtype: REQUEST },
    ]);
    expect(h.agent.neighbors()[0]!.routeRefresh).toMatchObject({ sent: 2, received: 0 });
    expect(h.agent.neighbors()[0]!.routeRefresh!.lastSent).not.toBeNull();
    expect(h.agent.neighborRefresh('b', 'in')).toEqual({ name: 'b', in: 'sent', out: null });
    expect(h.agent.neighborRefresh('b', 'both')).toEqual({ name: 'b', in: 'sent', out: 'sent' });
  });

  it('RFC 7313 §4: BoRR marks the family stale, EoRR removes what was not sent again; the other family is untouched', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const b = h.sessions.get('b')!;
    b.establish({ enhancedRouteRefresh: true });
    b.update(announce(['10.2.0.0/24', '10.3.0.0/24', '2001:db8:2::/48']));
    await h.tick(100);
    refreshFrom(b, 1, BORR);
    expect(h.agent.neighbors()[0]!.routeRefresh!.awaitingEorr).toEqual(['ipv4-unicast']);
    b.update(announce(['10.2.0.0/24']));
    await h.tick(100);
    // Stale paths stay candidates (and in the FIB) until the EoRR.
    expect(prefixes(h.agent.routes() as never, 'b')).toEqual(['10.2.0.0/24', '10.3.0.0/24', '2001:db8:2::/48']);
    refreshFrom(b, 1, EORR);
    await h.tick(100);
    expect(prefixes(h.agent.routes() as never, 'b')).toEqual(['10.2.0.0/24', '2001:db8:2::/48']);
    expect(h.fib.table.has('10.3.0.0/24')).toBe(false);
    expect(h.fib.table.has('10.2.0.0/24')).toBe(true);
    expect(h.agent.neighbors()[0]!.routeRefresh!.awaitingEorr).toEqual([]);
  });

  it('RFC 7313 §4: an EoRR that does not come: after EORR_TIMEOUT_MS the stale paths go, counted', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const b = h.sessions.get('b')!;
    b.establish({ enhancedRouteRefresh: true });
    b.update(announce(['10.2.0.0/24', '10.3.0.0/24']));
    await h.tick(100);
    refreshFrom(b, 1, BORR);
    b.update(announce(['10.3.0.0/24']));
    await h.tick(EORR_TIMEOUT_MS - 1_000);
    expect(prefixes(h.agent.routes() as never, 'b')).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    await h.tick(2_000);
    expect(prefixes(h.agent.routes() as never, 'b')).toEqual(['10.3.0.0/24']);
    expect(h.agent.neighbors()[0]!.routeRefresh).toMatchObject({ eorrTimeouts: 1, awaitingEorr: [] });
  });

  it('an EoRR without a BoRR removes nothing', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const b = h.sessions.get('b')!;
    b.establish({ enhancedRouteRefresh: true });
    b.update(announce(['10.2.0.0/24']));
    await h.tick(100);
    refreshFrom(b, 1, EORR);
    await h.tick(100);
    expect(prefixes(h.agent.routes() as never, 'b')).toEqual(['10.2.0.0/24']);
  });

  it('RFC 4724 and RFC 7313: an End-of-RIB between BoRR and EoRR does not sweep the refresh\'s stale paths', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    const b = h.sessions.get('b')!;
    b.establish({ enhancedRouteRefresh: true });
    b.update(announce(['10.2.0.0/24', '10.3.0.0/24']));
    await h.tick(100);
    refreshFrom(b, 1, BORR);
    // An empty UPDATE: IPv4 End-of-RIB (RFC 4724 §2).
    b.update({ type: MessageType.Update, withdrawn: [], attributes: {}, nlri: [] });
    await h.tick(100);
    expect(prefixes(h.agent.routes() as never, 'b')).toEqual(['10.2.0.0/24', '10.3.0.0/24']);
    b.update(announce(['10.3.0.0/24']));
    refreshFrom(b, 1, EORR);
    await h.tick(100);
    expect(prefixes(h.agent.routes() as never, 'b')).toEqual(['10.3.0.0/24']);
  });
});
