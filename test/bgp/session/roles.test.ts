/** RFC 9234 §4 BGP Role negotiation on the OPEN exchange. */
import { afterEach, describe, expect, it } from 'vitest';
import { buildOpen, checkOpen, expectedPeerRole, roleFromName, roleName } from '#bgp/session/open';
import { notificationText } from '#bgp/session/index';
import type { BgpListener, BgpSession } from '#bgp/session/index';
import { BgpRole, MessageType } from '#bgp/wire/types';
import type { Capability, OpenMessage } from '#bgp/wire/types';
import { A_ID, B_ID, LOOPBACK, config, listener, side, waitFor } from './helpers.js';

const ADDR = { localAddress: '10.0.0.1', remoteAddress: '10.0.0.2' };
const base = config({ name: 'p', localAsn: 65001, routerId: '192.0.2.1', peerAsn: 65002, holdTime: 90 });

function peerOpen(extra: Capability[] = []): OpenMessage {
  return {
    type: MessageType.Open,
    version: 4,
    myAs: 65002,
    holdTime: 180,
    bgpId: '192.0.2.2',
    capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 65, asn: 65002 }, ...extra],
  };
}

const ALL = [BgpRole.Provider, BgpRole.RouteServer, BgpRole.RouteServerClient, BgpRole.Customer, BgpRole.Peer];
const ALLOWED = new Set(['provider/customer', 'customer/provider', 'rs/rs-client', 'rs-client/rs', 'peer/peer']);

describe('RFC 9234 §4 BGP Role', () => {
  it('RFC 9234 §4.1: the capability is sent only when a role is configured', () => {
    expect(buildOpen({ ...base, role: BgpRole.Customer }).capabilities).toContainEqual({ code: 9, role: BgpRole.Customer });
    expect(buildOpen(base).capabilities.some((c) => c.code === 9)).toBe(false);
  });

  it('RFC 9234 §4.2 Table 2: the allowed pairs come up, every other pair is a Role Mismatch (OPEN Message Error 11)', () => {
    for (const local of ALL) {
      for (const peer of ALL) {
        const r = checkOpen({ ...base, role: local }, peerOpen([{ code: 9, role: peer }]), ADDR);
        const pair = `${roleName(local)}/${roleName(peer)}`;
        if (ALLOWED.has(pair)) {
          expect(r.ok, pair).toBe(true);
          expect(r.ok && r.negotiated.roles).toEqual({ local, peer });
        } else {
          expect(r.ok, pair).toBe(false);
          if (!r.ok) expect([r.notification.code, r.notification.subcode]).toEqual([2, 11]);
        }
      }
    }
  });

  it('RFC 9234 §4.2: a role value outside the table is a Role Mismatch', () => {
    const r = checkOpen({ ...base, role: BgpRole.Peer }, peerOpen([{ code: 9, role: 7 }]), ADDR);
    expect(r.ok).toBe(false);
  });

  it('RFC 9234 §4.2: several role capabilities with different values are a Role Mismatch', () => {
    const r = checkOpen({ ...base, role: BgpRole.Customer }, peerOpen([{ code: 9, role: BgpRole.Provider }, { code: 9, role: BgpRole.Peer }]), ADDR);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.notification.subcode).toBe(11);
  });

  it('RFC 9234 §4.2: no capability from the peer is accepted, unless strict mode', () => {
    const lax = checkOpen({ ...base, role: BgpRole.Customer }, peerOpen(), ADDR);
    expect(lax.ok && lax.negotiated.roles).toEqual({ local: BgpRole.Customer, peer: null });
    const strict = checkOpen({ ...base, role: BgpRole.Customer, roleStrict: true }, peerOpen(), ADDR);
    expect(strict.ok).toBe(false);
    if (!strict.ok) {
      expect(strict.notification.subcode).toBe(11);
      expect(strict.reason).toMatch(/strict/);
    }
  });

  it('without a role of ours the peer\'s is ignored and nothing is recorded', () => {
    const r = checkOpen(base, peerOpen([{ code: 9, role: BgpRole.Provider }]), ADDR);
    expect(r.ok && r.negotiated.roles).toBeUndefined();
  });

  it('names: the configuration spelling both ways, and the NOTIFICATION text', () => {
    for (const r of ALL) expect(roleFromName(roleName(r) as Parameters<typeof roleFromName>[0])).toBe(r);
    expect(expectedPeerRole(BgpRole.RouteServerClient)).toBe(BgpRole.RouteServer);
    expect(notificationText(2, 11, new Uint8Array(0))).toMatch(/Role Mismatch/);
  });
});

describe('RFC 9234 §4.2 on a real session (loopback TCP)', () => {
  const sessions: BgpSession[] = [];
  const listeners: BgpListener[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop()));
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  /** A (65001, role `roleA`) dials B (65002, role `roleB`, passive). */
  async function pair(roleA: BgpRole, roleB: BgpRole) {
    const l = await listener();
    listeners.push(l);
    const a = side(config({ name: 'b', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port: l.port, holdTime: 90, role: roleA }));
    const b = side(config({ name: 'a', localAsn: 65002, routerId: B_ID, peerAsn: 65001, passive: true, holdTime: 90, role: roleB }));
    sessions.push(a.session, b.session);
    await l.register(b.session, '127.0.0.1', LOOPBACK);
    b.session.start();
    a.session.start();
    return { a, b };
  }

  it('customer and provider come up, each side knowing both roles', async () => {
    const { a, b } = await pair(BgpRole.Customer, BgpRole.Provider);
    await waitFor(() => a.session.state === 'Established' && b.session.state === 'Established', 'Established');
    expect(a.session.negotiated?.roles).toEqual({ local: BgpRole.Customer, peer: BgpRole.Provider });
    expect(b.session.negotiated?.roles).toEqual({ local: BgpRole.Provider, peer: BgpRole.Customer });
  });

  it('customer and peer: NOTIFICATION 2/11 Role Mismatch, never Established', async () => {
    const { a, b } = await pair(BgpRole.Customer, BgpRole.Peer);
    await waitFor(() => (a.session.lastError ?? '').includes('Role Mismatch') && (b.session.lastError ?? '').includes('Role Mismatch'), 'Role Mismatch');
    expect(a.session.lastNotification).toMatchObject({ code: 2, subcode: 11 });
    expect(a.rec.established).toHaveLength(0);
    expect(b.rec.established).toHaveLength(0);
  });
});
