/**
 * RFC 4271 §6.8 against a peer that resolves collisions the way BIRD does, in
 * the orders BIRD may read its two sockets. Each case once failed with BIRD
 * about one run in twelve: each side closed a different connection, and the
 * session went down and came back a second later.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RESTART_DETECT_AFTER_MS, type BgpListener, type BgpSession, type SessionConfig } from '#bgp/session/index';
import { FSM_STATES } from '#bgp/fsm/index';
import { ErrorCode, MessageType } from '#bgp/wire/types';
import { CeaseSubcode } from '#bgp/wire/index';
import { keepsExisting, localIsDominant, refusesNewConnection } from '#bgp/session/collision';
import { config, listener, side, sleep, waitFor, LOOPBACK } from './helpers.js';
import type { Side } from './helpers.js';
import { ScriptedPeer, type PeerConn } from './scripted-peer.js';

const PEER_ID = '192.0.2.2';
/** Below and above the peer's identifier: the peer's connection should win, then ours. */
const OUR_IDS = [
  ['lower', '192.0.2.1'],
  ['higher', '192.0.2.3'],
] as const;

const opened: { sessions: BgpSession[]; listeners: BgpListener[]; peers: ScriptedPeer[] } = { sessions: [], listeners: [], peers: [] };

afterEach(async () => {
  await Promise.all(opened.sessions.splice(0).map((s) => s.stop()));
  await Promise.all(opened.listeners.splice(0).map((l) => l.close()));
  await Promise.all(opened.peers.splice(0).map((p) => p.close()));
});

/** An active session dialling the scripted peer, and a listener for the peer's own connection. */
async function setup(routerId: string, more: Partial<SessionConfig> = {}): Promise<{ s: Side; peer: ScriptedPeer; l: BgpListener }> {
  const peer = await ScriptedPeer.listen({ routerId: PEER_ID, asn: 65002, remoteRouterId: routerId, remoteAsn: 65001 });
  const l = await listener();
  const s = side(config({ name: 'peer', localAsn: 65001, routerId, peerAsn: 65002, port: peer.port, families: [{ afi: 1, safi: 1 }], ...more }));
  opened.peers.push(peer);
  opened.listeners.push(l);
  opened.sessions.push(s.session);
  await l.register(s.session, '127.0.0.1', LOOPBACK);
  return { s, peer, l };
}

/** One connection up on both sides, and the session never went down. */
async function expectOneSession(s: Side, peer: ScriptedPeer): Promise<void> {
  await waitFor(() => s.session.state === 'Established', 'session Established', 3000);
  await sleep(50);
  await peer.drain();
  expect(peer.conns.filter((c) => c.state === 'Established')).toHaveLength(1);
  expect(peer.conns.filter((c) => c.state !== 'Closed')).toHaveLength(1);
  expect(s.session.state).toBe('Established');
  expect(s.rec.established).toHaveLength(1);
  expect(s.rec.downs).toEqual([]);
  expect(s.session.lastError).toBeNull();
}

describe('RFC 4271 §6.8 with a peer that decides like BIRD', () => {
  it.each(OUR_IDS)(
    'ours Established while the peer, not having read our KEEPALIVE, still sees it in OpenConfirm (our id %s)',
    async (_, routerId) => {
      const { s, peer, l } = await setup(routerId);
      s.session.start();
      const ours = await peer.accepted();
      ours.send(peer.open());
      await peer.step(ours); // our OPEN: no other connection, so OpenConfirm and a KEEPALIVE
      await waitFor(() => s.session.state === 'Established', 'session Established');
      await ours.arrived(MessageType.Keepalive); // there, but not read by the peer yet
      const theirs = await peer.dial(l.port);
      theirs.send(peer.open());
      // The peer reads its own connection first: an OPEN from us there would make it resolve
      // by identifier against ours, which it still sees in OpenConfirm.
      await peer.step(theirs);
      await peer.settle(ours);
      await peer.settle(theirs);
      await expectOneSession(s, peer);
      expect(ours.state).toBe('Established');
    },
  );

  it.each(OUR_IDS)(
    "the peer's OPEN on our connection arrives while our OPEN on the peer's is out (our id %s)",
    async (idRank, routerId) => {
      const { s, peer, l } = await setup(routerId);
      s.session.start();
      const ours = await peer.accepted();
      await ours.arrived(MessageType.Open);
      const theirs = await peer.dial(l.port);
      await theirs.arrived(MessageType.Open); // the session answered the peer's connection with an OPEN
      ours.send(peer.open());
      await waitFor(() => ours.received.length >= 2, 'the session acting on our connection');
      theirs.send(peer.open());
      await waitFor(() => theirs.received.length >= 2, "the session acting on the peer's connection");
      // The peer reads ours first: OPEN (its own connection still in OpenSent, so no collision yet),
      // then whatever followed it — a KEEPALIVE would make ours Established at the peer.
      await peer.settle(ours);
      await peer.settle(theirs);
      await expectOneSession(s, peer);
      // The connection initiated by the higher identifier survives.
      expect(idRank === 'lower' ? theirs.state : ours.state).toBe('Established');
    },
  );
});

describe('RFC 4271 §6.8 rules', () => {
  it('step 1 and RFC 6286 §2.3: the higher BGP Identifier dominates, then the higher ASN', () => {
    expect(localIsDominant({ routerId: '10.0.0.2', asn: 1 }, { routerId: '10.0.0.1', asn: 2 })).toBe(true);
    expect(localIsDominant({ routerId: '9.255.255.255', asn: 2 }, { routerId: '10.0.0.1', asn: 1 })).toBe(false);
    expect(localIsDominant({ routerId: '10.0.0.1', asn: 65002 }, { routerId: '10.0.0.1', asn: 65001 })).toBe(true);
    expect(localIsDominant({ routerId: '10.0.0.1', asn: 65001 }, { routerId: '10.0.0.1', asn: 65002 })).toBe(false);
  });

  it('a new connection is closed unopened once ours has sent a KEEPALIVE', () => {
    expect(FSM_STATES.filter(refusesNewConnection)).toEqual(['OpenConfirm', 'Established']);
  });

  it('the existing connection is kept only when it is ours, up, and we dominate', () => {
    expect(keepsExisting({ state: 'OpenSent', outbound: true }, true)).toBe(true);
    expect(keepsExisting({ state: 'OpenSent', outbound: true }, false)).toBe(false);
    expect(keepsExisting({ state: 'OpenSent', outbound: false }, true)).toBe(false);
    expect(keepsExisting({ state: 'Connect', outbound: true }, true)).toBe(false);
  });
});

describe('RFC 4724 §4.2 with RFC 4271 §6.8: a graceful-restart peer dials while our session is Established', () => {
  const GR_CAP = { restartState: false, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: true }] };
  const GR_CFG: Partial<SessionConfig> = { gracefulRestart: { restartTime: 120, state: () => ({ restarting: false, forwardingState: true }) } };

  async function established(): Promise<{ s: Side; peer: ScriptedPeer; l: BgpListener; ours: PeerConn }> {
    const t = await setup(OUR_IDS[0][1], GR_CFG);
    t.s.session.start();
    const ours = await t.peer.accepted();
    ours.send(t.peer.open({ gracefulRestart: GR_CAP }));
    await t.peer.step(ours);
    await waitFor(() => t.s.session.state === 'Established', 'session Established');
    await t.peer.settle(ours);
    return { ...t, ours };
  }

  it('in its first seconds the dial crossed ours (FRR: 29 ms after Established): the new connection is closed with Cease 6/7, the session stays', async () => {
    const { s, peer, l } = await established();
    const theirs = await peer.dial(l.port);
    theirs.send(peer.open({ gracefulRestart: GR_CAP }));
    await waitFor(() => theirs.received.length > 0, 'an answer on the new connection');
    expect(theirs.received[0]).toMatchObject({ type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution });
    await sleep(50);
    expect(s.session.state).toBe('Established');
    expect(s.rec.downs).toEqual([]);
    expect(s.rec.established).toHaveLength(1);
  });

  it('later it is the peer restarted: the old session ends without a NOTIFICATION (its routes kept stale), the new connection becomes the session', async () => {
    const { s, peer, l, ours } = await established();
    await sleep(RESTART_DETECT_AFTER_MS + 100);
    // The peer restarted: it knows nothing of its old connection, which our side still holds.
    ours.state = 'Closed';
    const theirs = await peer.dial(l.port);
    theirs.send(peer.open({ gracefulRestart: GR_CAP }));
    await waitFor(() => s.rec.downs.length === 1, 'the old session down');
    expect(s.rec.downs[0]).toMatch(/restarted/);
    await peer.settle(theirs);
    await waitFor(() => s.rec.established.length === 2, 'the new session Established');
    expect(theirs.state).toBe('Established');
  }, 10_000);
});
