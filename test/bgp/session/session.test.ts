import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { ManualClock } from '#lib/clock';
import type { BgpListener, BgpSession } from '#bgp/session/index';
import { A_ID, B_ID, config, ipv4Update, ipv6Update, listener, side, sleep, waitFor, LOOPBACK } from './helpers.js';

/** Everything a test opened, closed whatever happens. */
const sessions: BgpSession[] = [];
const listeners: BgpListener[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

/** A dials B; B is passive behind a listener. */
async function pair(opts: { holdTime?: number; clockA?: ManualClock; clockB?: ManualClock; peerAsnOfB?: number; localAsnA?: number } = {}) {
  const l = await listener();
  listeners.push(l);
  const localAsnA = opts.localAsnA ?? 65001;
  const a = side(
    config({
      name: 'b',
      localAsn: localAsnA,
      routerId: A_ID,
      peerAsn: opts.peerAsnOfB ?? 65002,
      port: l.port,
      holdTime: opts.holdTime ?? 90,
    }),
    opts.clockA,
  );
  const b = side(
    config({ name: 'a', localAsn: 65002, routerId: B_ID, peerAsn: localAsnA, passive: true, holdTime: opts.holdTime ?? 90 }),
    opts.clockB,
  );
  sessions.push(a.session, b.session);
  await l.register(b.session, '127.0.0.1', LOOPBACK);
  return { a, b, l };
}

const established = (...s: BgpSession[]) => () => s.every((x) => x.state === 'Established');

describe('BgpSession over loopback TCP', () => {
  it('RFC 4271 §8.2.2: an active and a passive session reach Established and exchange UPDATEs', async () => {
    const { a, b } = await pair({ holdTime: 30 });
    b.session.start();
    a.session.start();
    await waitFor(established(a.session, b.session), 'Established');

    const n = a.session.negotiated!;
    expect(n.peerAsn).toBe(65002);
    expect(n.peerRouterId).toBe(B_ID);
    expect(n.holdTime).toBe(30);
    expect(n.keepaliveTime).toBe(10);
    expect(n.fourOctetAs).toBe(true);
    expect(n.routeRefresh).toBe(true);
    expect(n.families).toEqual([
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ]);
    expect(n.remoteAddress).toBe('127.0.0.1');
    expect(a.rec.established).toHaveLength(1);
    expect(b.rec.established).toHaveLength(1);
    expect(a.rec.states.map(([, to]) => to)).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
    expect(b.rec.states.map(([, to]) => to)).toEqual(['Active', 'OpenSent', 'OpenConfirm', 'Established']);

    expect(a.session.send(ipv4Update('10.1.0.0/24', 65001))).toBe(true);
    b.session.sendMany([ipv6Update('2001:db8:2::/48', 65002), ipv4Update('10.2.0.0/24', 65002)]);
    await waitFor(() => b.rec.updates.length === 1 && a.rec.updates.length === 2, 'UPDATEs');
    expect(b.rec.updates[0]!.nlri).toEqual(['10.1.0.0/24']);
    expect(b.rec.updates[0]!.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
    expect(a.rec.updates[0]!.mpReach?.nlri).toEqual(['2001:db8:2::/48']);
    expect(a.rec.updates[1]!.nlri).toEqual(['10.2.0.0/24']);
    expect(a.session.counters.updatesOut).toBe(1);
    expect(a.session.counters.updatesIn).toBe(2);
    expect(b.session.counters.updatesIn).toBe(1);
    expect(b.session.counters.messagesIn).toBeGreaterThanOrEqual(3); // OPEN, KEEPALIVE, UPDATE
  });

  it('RFC 6793: a 4-octet local ASN goes out as AS_TRANS plus capability 65 and is recognised', async () => {
    const { a, b } = await pair({ localAsnA: 4200000001 });
    b.session.start();
    a.session.start();
    await waitFor(established(a.session, b.session), 'Established');
    expect(b.session.negotiated!.peerAsn).toBe(4200000001);
    expect(b.session.negotiated!.fourOctetAs).toBe(true);
  });

  it('RFC 4271 §8.2.2: send() refuses before Established', () => {
    const a = side(config({ name: 'x', localAsn: 1, peerAsn: 2, routerId: A_ID, port: 1 }));
    expect(a.session.state).toBe('Idle');
    expect(a.session.send(ipv4Update('10.0.0.0/8', 1))).toBe(false);
    expect(a.session.negotiated).toBeNull();
  });

  it('RFC 4271 §6.5: the hold timer expires without KEEPALIVEs, sends 4/0, and each side calls onDown once', async () => {
    const clockA = new ManualClock();
    const clockB = new ManualClock();
    const { a, b } = await pair({ holdTime: 3, clockA, clockB });
    b.session.start();
    a.session.start();
    await waitFor(established(a.session, b.session), 'Established');
    expect(a.session.negotiated!.keepaliveTime).toBe(1);

    // A KEEPALIVE from B restarts A's hold timer (§8.2.2 Established, KeepAliveMsg).
    clockA.advance(2000);
    const before = a.session.counters.messagesIn;
    clockB.advance(1000);
    await waitFor(() => a.session.counters.messagesIn > before, 'B KEEPALIVE');
    clockA.advance(2000);
    expect(a.session.state).toBe('Established');

    clockA.advance(1000);
    expect(a.session.state).toBe('Idle');
    expect(a.session.lastError).toBe('sent 4/0 Hold Timer Expired');
    await waitFor(() => b.rec.downs.length === 1, 'B down');
    expect(b.session.lastError).toBe('received 4/0 Hold Timer Expired');
    expect(a.rec.downs).toEqual(['sent 4/0 Hold Timer Expired']);
    expect(b.rec.downs).toEqual(['received 4/0 Hold Timer Expired']);
  });

  it('RFC 4271 §8.2.2: a ROUTE-REFRESH sent is no KEEPALIVE: requests more often than the keepalive time leave the KEEPALIVEs going, the peer\'s hold timer runs on them', async () => {
    // The peer restarts its hold timer on KEEPALIVE and UPDATE only (§8.2.2 Established; BIRD
    // does the same): were each ROUTE-REFRESH to restart our KeepaliveTimer, requests every
    // half keepalive time would let its hold timer run out.
    const clockA = new ManualClock();
    const clockB = new ManualClock();
    const { a, b } = await pair({ holdTime: 3, clockA, clockB });
    b.session.start();
    a.session.start();
    await waitFor(established(a.session, b.session), 'Established');
    expect(a.session.negotiated!.keepaliveTime).toBe(1);
    const outA = a.session.counters.messagesOut;
    const inB = b.session.counters.messagesIn;
    // Both clocks move together, 500 ms a step, each step's messages delivered before the next.
    for (let ms = 500; ms <= 6000; ms += 500) {
      expect(a.session.sendRouteRefresh(1, 1, 0)).toBe(true);
      clockA.advance(500);
      clockB.advance(500);
      const sentA = a.session.counters.messagesOut - outA;
      const sentB = b.session.counters.messagesOut;
      const down = (): boolean => a.session.state !== 'Established' || b.session.state !== 'Established';
      await waitFor(() => down() || (b.session.counters.messagesIn - inB >= sentA && a.session.counters.messagesIn >= sentB), `the messages of ${ms} ms delivered`);
      if (down()) break;
    }
    expect(b.rec.downs).toEqual([]);
    expect(b.session.state).toBe('Established');
    expect(a.session.state).toBe('Established');
    expect(b.rec.refreshes).toHaveLength(12);
    // 12 ROUTE-REFRESH and a KEEPALIVE a second.
    expect(a.session.counters.messagesOut - outA).toBe(12 + 6);
  });

  it('RFC 4271 §6.2: a peer with the wrong AS gets OPEN Message Error 2/2 Bad Peer AS', async () => {
    const { a, b } = await pair({ peerAsnOfB: 65099 });
    b.session.start();
    a.session.start();
    await waitFor(() => b.session.lastError !== null && a.session.lastError !== null, 'NOTIFICATION');
    expect(a.session.lastError).toBe('sent 2/2 Bad Peer AS');
    expect(b.session.lastError).toBe('received 2/2 Bad Peer AS');
    await sleep(50);
    expect(a.rec.established).toEqual([]);
    expect(a.rec.downs).toEqual([]);
    expect(b.rec.downs).toEqual([]);
  });

  it('RFC 8203: stop() sends Cease/Administrative Shutdown with the reason and the peer calls onDown', async () => {
    const { a, b } = await pair();
    b.session.start();
    a.session.start();
    await waitFor(established(a.session, b.session), 'Established');
    await a.session.stop('maintenance window');
    expect(a.session.state).toBe('Idle');
    expect(a.session.lastError).toBe('sent 6/2 Administrative Shutdown: "maintenance window"');
    expect(a.rec.downs).toHaveLength(1);
    await waitFor(() => b.rec.downs.length === 1, 'B down');
    expect(b.rec.downs[0]).toBe('received 6/2 Administrative Shutdown: "maintenance window"');
    // B is passive: it is listening again at once.
    await waitFor(() => b.session.state === 'Active', 'B back in Active');
  });

  it('RFC 4271 §6.8: with both sides active, the connection initiated by the higher BGP Identifier survives', async () => {
    const la = await listener();
    const lb = await listener();
    listeners.push(la, lb);
    const a = side(config({ name: 'b', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port: lb.port }));
    const b = side(config({ name: 'a', localAsn: 65002, routerId: B_ID, peerAsn: 65001, port: la.port }));
    sessions.push(a.session, b.session);
    await la.register(a.session, '127.0.0.1', LOOPBACK);
    await lb.register(b.session, '::ffff:127.0.0.1', LOOPBACK);
    a.session.start();
    b.session.start();
    await waitFor(established(a.session, b.session), 'Established');
    await sleep(100);
    expect(a.session.state).toBe('Established');
    expect(b.session.state).toBe('Established');
    // B (2.2.2.2) dialled the survivor; A's own connection was closed with Cease 6/7.
    expect(b.dialled.filter((s) => !s.destroyed)).toHaveLength(1);
    expect(a.dialled.filter((s) => !s.destroyed)).toHaveLength(0);
    // The losing connection got Cease 6/7, which is routine: it is not shown as the session's last error.
    expect([a.session.lastError, b.session.lastError]).toEqual([null, null]);
    expect(a.rec.established).toHaveLength(1);
    expect(b.rec.established).toHaveLength(1);
    expect(a.rec.downs).toEqual([]);
    expect(b.rec.downs).toEqual([]);
    // And it carries traffic.
    a.session.send(ipv4Update('10.9.0.0/16', 65001));
    await waitFor(() => b.rec.updates.length === 1, 'UPDATE over the survivor');
  });

  it('RFC 4271 §8.2.2: an active session reconnects on the connect-retry timer after the peer restarts', async () => {
    const { a, b, l } = await pair();
    b.session.start();
    a.session.start();
    await waitFor(established(a.session, b.session), 'Established');

    await b.session.stop('restarting');
    await waitFor(() => a.rec.downs.length === 1, 'A down');
    const b2 = side(config({ name: 'a', localAsn: 65002, routerId: B_ID, peerAsn: 65001, passive: true }));
    sessions.push(b2.session);
    await l.register(b2.session, '127.0.0.1', LOOPBACK);
    b2.session.start();
    await waitFor(established(a.session, b2.session), 'Established again');
    expect(a.rec.established).toHaveLength(2);
    expect(a.rec.downs).toEqual(['received 6/2 Administrative Shutdown: "restarting"']);
  });

  it('RFC 4271 §8.2.2 Connect: a refused connection is retried after ConnectRetryTime', async () => {
    const l = await listener();
    const port = l.port;
    await l.close();
    const a = side(config({ name: 'b', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port }));
    sessions.push(a.session);
    a.session.start();
    await waitFor(() => a.session.lastError?.startsWith('TCP:') === true, 'TCP error');
    expect(a.session.lastError).toContain('ECONNREFUSED');
    expect(a.session.state).toBe('Idle');
    await waitFor(() => a.dialled.length >= 2, 'second attempt', 3000);
    expect(a.rec.downs).toEqual([]);
  });

  it('setPassive(false) makes a waiting session dial at once', async () => {
    const { a, b } = await pair();
    // B listens for nobody; flip A to passive first, then back.
    b.session.start();
    a.session.setPassive(true);
    a.session.start();
    await sleep(20);
    expect(a.session.state).toBe('Active');
    expect(a.dialled).toHaveLength(0);
    a.session.setPassive(false);
    await waitFor(established(a.session, b.session), 'Established');
  });
});

describe('BgpListener', () => {
  it('closes connections from addresses nobody registered', async () => {
    const l = await listener();
    listeners.push(l);
    const sock = connect({ host: '127.0.0.1', port: l.port });
    sock.on('error', () => {});
    let closed = false;
    sock.on('close', () => (closed = true));
    await waitFor(() => closed, 'refused connection closed', 3000);
  });

  it('refuses a registered peer whose session is stopped', async () => {
    const { l, b } = await pair();
    void b;
    const sock = connect({ host: '127.0.0.1', port: l.port });
    sock.on('error', () => {});
    let closed = false;
    sock.on('close', () => (closed = true));
    await waitFor(() => closed, 'refused connection closed', 3000);
  });
});
