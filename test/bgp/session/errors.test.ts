/**
 * A hand-driven peer on a raw TCP socket, to send what a well-behaved speaker
 * never would and read back the NOTIFICATION the session answers with.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { decodeMessage, encodeMessage, MessageFramer } from '#bgp/wire/index';
import { MessageType } from '#bgp/wire/types';
import type { BgpMessage, NotificationMessage } from '#bgp/wire/types';
import type { BgpListener, BgpSession } from '#bgp/session/index';
import { loadVector } from '../wire/vectors.js';
import { B_ID, config, ipv4Update, listener, side, waitFor, LOOPBACK } from './helpers.js';
import type { Side } from './helpers.js';

const CTX = { fourOctetAs: true };
const opened: { sessions: BgpSession[]; listeners: BgpListener[]; sockets: Socket[] } = { sessions: [], listeners: [], sockets: [] };

afterEach(async () => {
  for (const s of opened.sockets.splice(0)) s.destroy();
  await Promise.all(opened.sessions.splice(0).map((s) => s.stop()));
  await Promise.all(opened.listeners.splice(0).map((l) => l.close()));
});

interface RawPeer {
  sock: Socket;
  received: BgpMessage[];
  closed: () => boolean;
  send(m: BgpMessage | Uint8Array): void;
}

/** A passive session B, and a raw peer connected to its listener as AS 65001. */
async function setup(): Promise<{ b: Side; peer: RawPeer }> {
  const l = await listener();
  opened.listeners.push(l);
  const b = side(config({ name: 'raw', localAsn: 65002, routerId: B_ID, peerAsn: 65001, passive: true }));
  opened.sessions.push(b.session);
  await l.register(b.session, '127.0.0.1', LOOPBACK);
  b.session.start();
  const sock = connect({ host: '127.0.0.1', port: l.port });
  opened.sockets.push(sock);
  const framer = new MessageFramer();
  const received: BgpMessage[] = [];
  let isClosed = false;
  sock.on('data', (chunk: Buffer) => {
    for (const f of framer.push(chunk)) received.push(decodeMessage(f, CTX).message);
  });
  sock.on('error', () => {});
  sock.on('close', () => (isClosed = true));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  return {
    b,
    peer: {
      sock,
      received,
      closed: () => isClosed,
      send: (m) => sock.write(m instanceof Uint8Array ? m : encodeMessage(m, CTX)),
    },
  };
}

const OPEN: BgpMessage = {
  type: MessageType.Open,
  version: 4,
  myAs: 65001,
  holdTime: 0,
  bgpId: '192.0.2.9',
  capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 65, asn: 65001 }],
};

function lastNotification(p: RawPeer): NotificationMessage | undefined {
  return p.received.filter((m): m is NotificationMessage => m.type === MessageType.Notification).at(-1);
}

describe('session answers protocol errors with the codec error NOTIFICATION', () => {
  it('RFC 4271 §6.1: a bad marker is 1/1 Connection Not Synchronized, then the connection is closed', async () => {
    const { b, peer } = await setup();
    await waitFor(() => peer.received.some((m) => m.type === MessageType.Open), 'OPEN from B');
    const bad = new Uint8Array(19).fill(0);
    bad[16] = 0;
    bad[17] = 19;
    bad[18] = 4;
    peer.send(bad);
    await waitFor(() => peer.closed(), 'closed');
    expect(lastNotification(peer)).toMatchObject({ code: 1, subcode: 1 });
    expect(b.session.lastError).toBe('sent 1/1 Connection Not Synchronized');
    await waitFor(() => b.session.state === 'Active', 'B listening again');
  });

  it('RFC 6608 §3: a KEEPALIVE before the OPEN is 5/1 (unexpected message in OpenSent)', async () => {
    const { b, peer } = await setup();
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => peer.closed(), 'closed');
    expect(lastNotification(peer)).toMatchObject({ code: 5, subcode: 1 });
    expect(b.session.lastError).toBe('sent 5/1 Receive Unexpected Message in OpenSent State');
  });

  it('RFC 7606 §2: a treat-as-withdraw UPDATE reaches onUpdate as withdrawals and the session stays up', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    // Hold time 0 (RFC 4271 §4.2): neither side runs timers, and the session still works.
    expect(b.session.negotiated!.holdTime).toBe(0);
    const u = ipv4Update('10.5.0.0/16', 65001);
    u.attributes.nextHop = '127.0.0.1'; // not a unicast next hop: RFC 7606 §7.3
    peer.send(u);
    await waitFor(() => b.rec.updates.length === 1, 'UPDATE');
    expect(b.rec.updates[0]!.withdrawn).toEqual(['10.5.0.0/16']);
    expect(b.rec.updates[0]!.nlri).toEqual([]);
    expect(b.session.state).toBe('Established');
  });

  it('RFC 4271 §6.3: an UPDATE that cannot be parsed is 3/1 and takes the session down once', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    // Withdrawn Routes Length 65535 in a 23-octet UPDATE.
    const bad = new Uint8Array(23).fill(0xff);
    bad.set([0, 23, 2, 0xff, 0xff, 0, 0], 16);
    peer.send(bad);
    await waitFor(() => peer.closed(), 'closed');
    expect(lastNotification(peer)).toMatchObject({ code: 3, subcode: 1 });
    expect(b.rec.downs).toHaveLength(1);
    expect(b.rec.downs[0]).toMatch(/^sent 3\/1 /);
  });

  it('RFC 4271 §8.2.2 Established: a second OPEN is 5/3', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    peer.send(OPEN);
    await waitFor(() => peer.closed(), 'closed');
    expect(lastNotification(peer)).toMatchObject({ code: 5, subcode: 3 });
    expect(b.rec.downs).toEqual(['sent 5/3 Receive Unexpected Message in Established State']);
  });

  it('RFC 2918: a ROUTE-REFRESH for a negotiated family reaches onRouteRefresh; others are ignored', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    peer.send({ type: MessageType.RouteRefresh, afi: 2, subtype: 0, safi: 1 });
    peer.send({ type: MessageType.RouteRefresh, afi: 1, subtype: 0, safi: 1 });
    await waitFor(() => b.rec.refreshes.length === 1, 'route refresh');
    expect(b.rec.refreshes).toEqual([[1, 1]]);
  });

  it('RFC 7313 §5: with enhanced route refresh negotiated, a BoRR of 24 octets is 7/1 carrying the whole message', async () => {
    const { b, peer } = await setup();
    peer.send({ ...OPEN, capabilities: [...OPEN.capabilities, { code: 2 }, { code: 70 }] });
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    expect(b.session.negotiated!.enhancedRouteRefresh).toBe(true);
    peer.send(loadVector('route-refresh/borr-too-long.hex'));
    await waitFor(() => peer.closed(), 'closed');
    const n = lastNotification(peer)!;
    expect(encodeMessage(n, CTX).equals(loadVector('notification/route-refresh-invalid-length.hex'))).toBe(true);
    expect(b.rec.downs[0]).toMatch(/^sent 7\/1 /);
  });

  it('RFC 2918: without enhanced route refresh, a ROUTE-REFRESH of 24 octets is 1/2 Bad Message Length', async () => {
    const { b, peer } = await setup();
    peer.send({ ...OPEN, capabilities: [...OPEN.capabilities, { code: 2 }] });
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    expect(b.session.negotiated!.enhancedRouteRefresh).toBeUndefined();
    peer.send(loadVector('route-refresh/borr-too-long.hex'));
    await waitFor(() => peer.closed(), 'closed');
    expect(lastNotification(peer)).toMatchObject({ code: 1, subcode: 2, data: Uint8Array.of(0, 24) });
  });

  it('RFC 7313 §5: a reserved subtype is ignored (no NOTIFICATION); BoRR/EoRR without enhanced route refresh too; the session stays up', async () => {
    const { b, peer } = await setup();
    peer.send({ ...OPEN, capabilities: [...OPEN.capabilities, { code: 2 }] });
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    peer.send(loadVector('route-refresh/reserved-subtype.hex'));
    peer.send(loadVector('route-refresh-borr.hex'));
    peer.send({ type: MessageType.RouteRefresh, afi: 1, subtype: 0, safi: 1 });
    await waitFor(() => b.rec.refreshMessages.length === 1, 'route refresh');
    expect(b.rec.refreshMessages).toEqual([{ afi: 1, safi: 1, subtype: 0 }]);
    expect(b.session.state).toBe('Established');
    expect(lastNotification(peer)).toBeUndefined();
  });

  it('RFC 7313 §4: BoRR and EoRR reach the application when negotiated; we send requests, and BoRR/EoRR only when negotiated', async () => {
    const { b, peer } = await setup();
    peer.send({ ...OPEN, capabilities: [...OPEN.capabilities, { code: 2 }, { code: 70 }] });
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    peer.send(loadVector('route-refresh-borr.hex'));
    peer.send({ type: MessageType.RouteRefresh, afi: 1, subtype: 2, safi: 1 });
    await waitFor(() => b.rec.refreshMessages.length === 2, 'BoRR and EoRR');
    expect(b.rec.refreshMessages.map((m) => m.subtype)).toEqual([1, 2]);
    expect(b.session.sendRouteRefresh(1, 1, 0)).toBe(true);
    expect(b.session.sendRouteRefresh(1, 1, 1)).toBe(true);
    // RFC 2918 §4: only for a negotiated family (the peer has IPv4 unicast alone).
    expect(b.session.sendRouteRefresh(2, 1, 0)).toBe(false);
    await waitFor(() => peer.received.filter((m) => m.type === MessageType.RouteRefresh).length === 2, 'our ROUTE-REFRESH');
    expect(peer.received.filter((m) => m.type === MessageType.RouteRefresh)).toEqual([
      { type: MessageType.RouteRefresh, afi: 1, subtype: 0, safi: 1 },
      { type: MessageType.RouteRefresh, afi: 1, subtype: 1, safi: 1 },
    ]);
  });

  it('RFC 2918 §4: no ROUTE-REFRESH to a peer without the capability', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    expect(b.session.sendRouteRefresh(1, 1, 0)).toBe(false);
  });

  it('RFC 8654 §3: once both OPENs carry capability 6, an UPDATE of 6000 octets is taken', async () => {
    const { b, peer } = await setup();
    peer.send({ ...OPEN, capabilities: [...OPEN.capabilities, { code: 6 }] });
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    expect(b.session.negotiated!.extendedMessages).toBe(true);
    const u = ipv4Update('10.0.0.0/24', 65001);
    u.nlri = Array.from({ length: 1500 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const bytes = encodeMessage(u, { ...CTX, extendedMessages: true });
    expect(bytes.length).toBeGreaterThan(4096);
    peer.send(bytes);
    await waitFor(() => b.rec.updates.length === 1, 'UPDATE');
    expect(b.rec.updates[0]!.nlri).toHaveLength(1500);
    expect(b.session.state).toBe('Established');
  });

  it('RFC 8654 §3: without capability 6 from the peer, a message over 4096 octets is 1/2 Bad Message Length', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    const u = ipv4Update('10.0.0.0/24', 65001);
    u.nlri = Array.from({ length: 1500 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    peer.send(encodeMessage(u, { ...CTX, extendedMessages: true }));
    await waitFor(() => peer.closed(), 'closed');
    expect(lastNotification(peer)).toMatchObject({ code: 1, subcode: 2 });
    expect(b.rec.updates).toEqual([]);
  });

  it('RFC 4271 §6.8: a new connection colliding with an Established one is closed with 6/7 before any OPEN', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    const second = connect({ host: '127.0.0.1', port: peer.sock.remotePort! });
    opened.sockets.push(second);
    second.on('error', () => {});
    const framer = new MessageFramer();
    const got: BgpMessage[] = [];
    let closed = false;
    second.on('data', (c: Buffer) => framer.push(c).forEach((f) => got.push(decodeMessage(f, CTX).message)));
    second.on('close', () => (closed = true));
    second.write(encodeMessage(OPEN, CTX));
    await waitFor(() => closed, 'second connection closed');
    // No OPEN: a peer resolves collisions on an OPEN, so it cannot choose this connection over ours.
    expect(got).toEqual([{ type: MessageType.Notification, code: 6, subcode: 7, data: new Uint8Array(0) }]);
    expect(b.session.state).toBe('Established');
    expect(b.rec.downs).toEqual([]);
  });

  it('RFC 4271 §8.2.2 Established: a NOTIFICATION still unread when a write fails is the reported cause, not EPIPE', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    // The peer says why and closes; before B's event loop has read either, B writes. Loopback
    // delivers at once: the first write draws a RST, the second fails with EPIPE.
    peer.send({ type: MessageType.Notification, code: 6, subcode: 2, data: new Uint8Array(0) });
    peer.sock.destroy();
    b.session.send(ipv4Update('10.7.0.0/16', 65002));
    b.session.send(ipv4Update('10.8.0.0/16', 65002));
    await waitFor(() => b.rec.downs.length === 1, 'down');
    expect(b.rec.downs).toEqual(['received 6/2 Administrative Shutdown']);
    expect(b.session.lastError).toBe('received 6/2 Administrative Shutdown');
  });

  it('RFC 4271 §8.2.2 Established: a connection lost without NOTIFICATION takes the session down once', async () => {
    const { b, peer } = await setup();
    peer.send(OPEN);
    peer.send({ type: MessageType.Keepalive });
    await waitFor(() => b.session.state === 'Established', 'Established');
    peer.sock.destroy();
    await waitFor(() => b.rec.downs.length === 1, 'down');
    expect(b.rec.downs[0]).toMatch(/^TCP: /);
    await waitFor(() => b.session.state === 'Active', 'listening again');
    expect(b.rec.downs).toHaveLength(1);
  });
});
