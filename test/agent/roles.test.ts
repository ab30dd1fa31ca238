/** RFC 9234 roles from the configuration to the session, the RIB and `neighbors --json`. */
import { describe, expect, it } from 'vitest';
import { peerRole, sessionRole } from '#agent/bgp';
import { negotiatedJson } from '#agent/view';
import { BgpRole } from '#bgp/wire/types';
import type { Negotiated } from '#bgp/session/index';
import type { NeighborBgpConfig } from '#config/types';

const BGP: NeighborBgpConfig = {
  asn: 65002,
  holdTime: 90,
  passive: false,
  ttlSecurity: true,
  password: null,
  gracefulRestart: true,
  gracefulRestartTime: 120,
  advertiseOspf: null,
  maxPrefix: null,
};

const NEG: Negotiated = {
  peerAsn: 65002,
  peerRouterId: '192.0.2.2',
  holdTime: 90,
  keepaliveTime: 30,
  fourOctetAs: true,
  families: [{ afi: 1, safi: 1 }],
  routeRefresh: true,
  extendedNextHop: false,
  localAddress: '10.255.0.0',
  remoteAddress: '10.255.0.1',
  gracefulRestart: null,
};

describe('bgp.role wiring', () => {
  it('the session sends and checks the configured role, strict as configured; none without one', () => {
    expect(sessionRole({ ...BGP, role: 'rs-client', roleStrict: true })).toEqual({ role: BgpRole.RouteServerClient, roleStrict: true });
    expect(sessionRole(BGP)).toEqual({});
  });

  it('the RIB peer carries our role once the session is up with one', () => {
    expect(peerRole({ ...NEG, roles: { local: BgpRole.Customer, peer: BgpRole.Provider } })).toEqual({ localRole: BgpRole.Customer });
    expect(peerRole(NEG)).toEqual({});
  });

  it('neighbors --json: session.roles by name, the peer\'s null when it sent none; absent without a role', () => {
    expect(negotiatedJson({ ...NEG, roles: { local: BgpRole.Customer, peer: BgpRole.Provider } }).roles).toEqual({ local: 'customer', peer: 'provider' });
    expect(negotiatedJson({ ...NEG, roles: { local: BgpRole.Peer, peer: null } }).roles).toEqual({ local: 'peer', peer: null });
    expect(negotiatedJson(NEG)).not.toHaveProperty('roles');
  });
});
