/**
 * RFC 9234 §5 route leak prevention: the ingress and egress procedures, one
 * test per rule, on eBGP sessions where we have a role; and the same through
 * the RIB. Our AS is 65001; the neighbor is AS 65002.
 */
import { describe, expect, test } from 'vitest';
import { BgpRole, MessageType } from '#bgp/wire/types';
import type { PathAttributes } from '#bgp/wire/types';
import { exportAttributes, exportFilter, importAttributes } from '#bgp/policy/index';
import type { ExportContext, ImportContext, RolePeerInfo } from '#bgp/policy/index';
import { Rib } from '#bgp/rib/index';
import type { PeerInfo, Route } from '#bgp/rib/index';
import { LOCAL_ASN, LOCAL_ROUTER_ID, announce, announced, attrs, peer, seq } from '../rib/helpers.js';

const PEER_ASN = 65002;

function withRole(role: BgpRole | undefined, asn = PEER_ASN): RolePeerInfo {
  return { ...peer('n', asn, 2), ...(role === undefined ? {} : { localRole: role }) };
}

function ingress(role: BgpRole | undefined, a: PathAttributes, asn = PEER_ASN) {
  const ctx: ImportContext = { localAsn: LOCAL_ASN, peer: withRole(role, asn), ownAddresses: new Set<string>() };
  return importAttributes(ctx, a, '10.255.2.1');
}

const other = peer('o', 65009, 9);
const ctx: ExportContext = { localAsn: LOCAL_ASN, peers: new Map<string, PeerInfo>([[other.id, other]]) };

/** A route learned from another neighbor (AS 65009), with `a` as its attributes. */
function route(a: PathAttributes): Route {
  return { prefix: '10.9.0.0/24', peer: other.id, source: 'bgp', attrs: a, nextHop: '10.255.9.1', nextHopLinkLocal: null };
}

const PLAIN = attrs({ asPath: [seq(PEER_ASN)] });
const WITH_OTC = attrs({ asPath: [seq(PEER_ASN)], otc: PEER_ASN });
/** What we export: learned from AS 65009. */
const LEARNED = attrs({ asPath: [seq(65009)] });

describe('RFC 9234 §5 ingress procedure', () => {
  test('RFC 9234 §5 (1): a route with OTC from a Customer is a leak (ineligible)', () => {
    expect(ingress(BgpRole.Provider, WITH_OTC)).toEqual({ accept: false, reason: 'role-leak' });
  });

  test('RFC 9234 §5 (1): a route with OTC from an RS-Client is a leak (ineligible)', () => {
    expect(ingress(BgpRole.RouteServer, WITH_OTC)).toEqual({ accept: false, reason: 'role-leak' });
  });

  test('RFC 9234 §5 (2): a route from a Peer whose OTC is not the peer\'s AS is a leak; equal to it, accepted as is', () => {
    expect(ingress(BgpRole.Peer, attrs({ asPath: [seq(PEER_ASN, 65010)], otc: 65010 }))).toEqual({ accept: false, reason: 'role-leak' });
    expect(ingress(BgpRole.Peer, WITH_OTC)).toEqual({ accept: true, attrs: WITH_OTC });
  });

  test('RFC 9234 §5 (3): a route without OTC from a Provider, a Peer or an RS gets OTC = the neighbor\'s AS', () => {
    for (const role of [BgpRole.Customer, BgpRole.Peer, BgpRole.RouteServerClient]) {
      const v = ingress(role, PLAIN);
      expect(v.accept && v.attrs.otc, `local role ${role}`).toBe(PEER_ASN);
    }
  });

  test('RFC 9234 §5: a route from a Provider or an RS that has OTC keeps it', () => {
    const v = ingress(BgpRole.Customer, attrs({ otc: 65010 }));
    expect(v.accept && v.attrs.otc).toBe(65010);
  });

  test('RFC 9234 §5: a route without OTC from a Customer or an RS-Client is accepted unchanged', () => {
    expect(ingress(BgpRole.Provider, PLAIN)).toEqual({ accept: true, attrs: PLAIN });
    expect(ingress(BgpRole.RouteServer, PLAIN)).toEqual({ accept: true, attrs: PLAIN });
  });

  test('no role configured, or an iBGP session: OTC is neither checked nor added', () => {
    expect(ingress(undefined, WITH_OTC)).toEqual({ accept: true, attrs: WITH_OTC });
    expect(ingress(undefined, PLAIN)).toEqual({ accept: true, attrs: PLAIN });
    expect(ingress(BgpRole.Provider, attrs({ otc: 65010 }), LOCAL_ASN)).toEqual({ accept: true, attrs: attrs({ otc: 65010 }) });
  });
});

describe('RFC 9234 §5 egress procedure', () => {
  test('RFC 9234 §5 egress (1): to a Customer, a Peer or an RS-Client, a route without OTC gets OTC = our AS', () => {
    for (const role of [BgpRole.Provider, BgpRole.Peer, BgpRole.RouteServer]) {
      expect(exportFilter(ctx, route(LEARNED), withRole(role))).toBeNull();
      expect(exportAttributes(ctx, LEARNED, withRole(role), null).otc, `local role ${role}`).toBe(LOCAL_ASN);
    }
  });

  test('RFC 9234 §5 egress (1): a route that has OTC keeps its value towards a Customer', () => {
    expect(exportFilter(ctx, route(attrs({ otc: 65010 })), withRole(BgpRole.Provider))).toBeNull();
    expect(exportAttributes(ctx, attrs({ otc: 65010 }), withRole(BgpRole.Provider), null).otc).toBe(65010);
  });

  test('RFC 9234 §5 egress (2): a route with OTC is not sent to a Provider, a Peer or an RS', () => {
    for (const role of [BgpRole.Customer, BgpRole.Peer, BgpRole.RouteServerClient]) {
      expect(exportFilter(ctx, route(attrs({ otc: 65010 })), withRole(role)), `local role ${role}`).toBe('only-to-customer');
    }
  });

  test('RFC 9234 §5 egress: to a Provider or an RS, a route without OTC goes without one', () => {
    for (const role of [BgpRole.Customer, BgpRole.RouteServerClient]) {
      expect(exportFilter(ctx, route(LEARNED), withRole(role))).toBeNull();
      expect(exportAttributes(ctx, LEARNED, withRole(role), null).otc).toBeUndefined();
    }
  });

  test('no role configured: OTC is carried unchanged and never added', () => {
    expect(exportFilter(ctx, route(attrs({ otc: 65010 })), withRole(undefined))).toBeNull();
    expect(exportAttributes(ctx, attrs({ otc: 65010 }), withRole(undefined), null).otc).toBe(65010);
    expect(exportAttributes(ctx, LEARNED, withRole(undefined), null).otc).toBeUndefined();
  });
});

describe('RFC 9234 §5 through the RIB', () => {
  /** We (65001) are the customer of p (65002) and the provider of c (65003); q (65004) is a lateral peer. */
  function site(): Rib {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    const peers: RolePeerInfo[] = [
      { ...peer('p', 65002, 2), localRole: BgpRole.Customer },
      { ...peer('c', 65003, 3), localRole: BgpRole.Provider },
      { ...peer('q', 65004, 4), localRole: BgpRole.Peer },
    ];
    for (const p of peers) r.addPeer(p);
    return r;
  }

  test('a provider\'s route is marked with its AS, goes to the customer, not to the lateral peer', () => {
    const r = site();
    const changes = r.applyUpdate('p', announce(['10.2.0.0/24'], attrs({ asPath: [seq(65002)] }), '10.255.2.1'));
    expect(r.ineligibleReason('p', '10.2.0.0/24')).toBeNull();
    const toCustomer = r.exportChanges('c', changes);
    expect(announced(toCustomer)).toEqual(['10.2.0.0/24']);
    expect(toCustomer[0]!.type === MessageType.Update && toCustomer[0]!.attributes.otc).toBe(65002);
    expect(r.exportChanges('q', changes)).toEqual([]);
  });

  test('a customer\'s route with OTC is a leak: kept in the Adj-RIB-In as ineligible (role-leak), sent nowhere', () => {
    const r = site();
    const changes = r.applyUpdate('c', announce(['10.3.0.0/24'], attrs({ asPath: [seq(65003, 65099)], otc: 65099 }), '10.255.3.1'));
    expect(r.ineligibleReason('c', '10.3.0.0/24')).toBe('role-leak');
    expect(r.exportChanges('p', changes)).toEqual([]);
  });
});
