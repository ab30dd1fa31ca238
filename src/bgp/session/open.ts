/**
 * Our OPEN, and the checks and negotiation on the peer's (RFC 4271 §6.2,
 * RFC 5492, RFC 6793, RFC 4760, RFC 8950, RFC 8654). The codec has already rejected what
 * it can judge alone (version, hold time 1-2, identifier 0); what needs the
 * configuration is here. Pure: the session supplies the addresses.
 */
import { MAX_LONG_LIVED_STALE_TIME, acceptsIpv4OverIpv6, buildOpen as buildWireOpen, negotiateAddPath, openCapabilities } from '#bgp/wire/index';
import { AFI_IPV4, AFI_IPV6, BgpRole, ErrorCode, SAFI_UNICAST } from '#bgp/wire/types';
import type { AddPathDirections, AddPathFamily, LongLivedFamily, OpenMessage } from '#bgp/wire/types';
import type { NotificationSpec } from '#bgp/fsm/index';
import { keepaliveTimeFor } from '#bgp/fsm/index';
import { bgpIdToNumber } from './address.js';
import type { AfiSafi, Negotiated, SessionConfig } from './types.js';

const EMPTY = new Uint8Array(0);

/** RFC 4271 §4.5 OPEN Message Error subcodes the session raises itself. */
const BAD_PEER_AS = 2;
const BAD_BGP_IDENTIFIER = 3;
const UNACCEPTABLE_HOLD_TIME = 6;
const ROLE_MISMATCH = 11;

/** RFC 9234 §4.1 role names, by BgpRole value (as the configuration and `neighbors` spell them). */
const ROLE_NAMES = ['provider', 'rs', 'rs-client', 'customer', 'peer'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export function roleName(role: number): string {
  return ROLE_NAMES[role] ?? `unknown (${role})`;
}

export function roleFromName(name: RoleName): BgpRole {
  return ROLE_NAMES.indexOf(name) as BgpRole;
}

/**
 * RFC 9234 §4.2 Table 2: the one role the peer may have for each of ours
 * (Provider-Customer, RS-RS-Client, Peer-Peer, both ways).
 */
export function expectedPeerRole(local: BgpRole): BgpRole {
  switch (local) {
    case BgpRole.Provider:
      return BgpRole.Customer;
    case BgpRole.Customer:
      return BgpRole.Provider;
    case BgpRole.RouteServer:
      return BgpRole.RouteServerClient;
    case BgpRole.RouteServerClient:
      return BgpRole.RouteServer;
    case BgpRole.Peer:
      return BgpRole.Peer;
  }
}

/**
 * Capabilities 1 per family, 2 (route refresh), 70 (RFC 7313 enhanced
 * route refresh), 6 (RFC 8654 extended
 * messages), 65 (RFC 6793, AS_TRANS in My AS above 65535), 5 if asked.
 */
export function buildOpen(cfg: SessionConfig): OpenMessage {
  return buildWireOpen({
    asn: cfg.localAsn,
    holdTime: cfg.holdTime,
    bgpId: cfg.routerId,
    families: cfg.families,
    routeRefresh: true,
    enhancedRouteRefresh: true,
    extendedMessages: true,
    ...(cfg.extendedNextHop ? { extendedNextHop: [{ afi: AFI_IPV4, safi: SAFI_UNICAST, nextHopAfi: AFI_IPV6 }] } : {}),
    ...(cfg.gracefulRestart ? { gracefulRestart: gracefulRestartOf(cfg, cfg.gracefulRestart) } : {}),
    ...(cfg.gracefulRestart && cfg.longLived ? { longLived: longLivedOf(cfg, cfg.gracefulRestart, cfg.longLived) } : {}),
    ...(cfg.role !== undefined ? { role: cfg.role } : {}),
    ...(cfg.addPath !== undefined && (cfg.addPath.receive || cfg.addPath.send) ? { addPath: cfg.families.map((f) => ({ ...f, ...cfg.addPath! })) } : {}),
  });
}

/** RFC 4724 §3 as we send it: every family we speak, with F as the state says. */
function gracefulRestartOf(cfg: SessionConfig, gr: NonNullable<SessionConfig['gracefulRestart']>) {
  const s = gr.state();
  return {
    restartState: s.restarting,
    notification: false,
    restartTime: Math.min(gr.restartTime, 4095),
    families: cfg.families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingState: s.forwardingState })),
  };
}

/** RFC 9494 §3 as we send it: every family we speak, with the one stale time and F as for RFC 4724. */
function longLivedOf(cfg: SessionConfig, gr: NonNullable<SessionConfig['gracefulRestart']>, ll: NonNullable<SessionConfig['longLived']>): LongLivedFamily[] {
  const s = gr.state();
  const staleTime = Math.min(Math.max(0, Math.floor(ll.staleTime)), MAX_LONG_LIVED_STALE_TIME);
  return cfg.families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingState: s.forwardingState, staleTime }));
}

function openError(subcode: number): NotificationSpec {
  return { code: ErrorCode.OpenMessage, subcode, data: EMPTY };
}

export type OpenCheck = { ok: true; negotiated: Negotiated } | { ok: false; notification: NotificationSpec; reason: string };

export function checkOpen(
  cfg: SessionConfig,
  open: OpenMessage,
  addresses: { localAddress: string; remoteAddress: string },
): OpenCheck {
  const caps = openCapabilities(open);
  // RFC 6793 §4.2: a 4-octet speaker's real ASN is the one in the capability.
  if (caps.asn !== cfg.peerAsn) {
    return { ok: false, notification: openError(BAD_PEER_AS), reason: `peer AS ${caps.asn}, expected ${cfg.peerAsn}` };
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    return { ok: false, notification: openError(UNACCEPTABLE_HOLD_TIME), reason: `hold time ${open.holdTime}` };
  }
  const id = bgpIdToNumber(open.bgpId);
  // RFC 6286 §2.2: a non-zero identifier, unique within the AS (so an iBGP peer may not share ours).
  if (id === 0 || (cfg.peerAsn === cfg.localAsn && id === bgpIdToNumber(cfg.routerId))) {
    return { ok: false, notification: openError(BAD_BGP_IDENTIFIER), reason: `BGP identifier ${open.bgpId}` };
  }
  const roleProblem = cfg.role === undefined ? null : checkRole(cfg.role, cfg.roleStrict === true, caps.role, caps.roleConflict);
  if (roleProblem !== null) return { ok: false, notification: openError(ROLE_MISMATCH), reason: roleProblem };
  const holdTime = Math.min(cfg.holdTime, open.holdTime);
  // RFC 4760 §8: a peer without multiprotocol capabilities speaks IPv4 unicast only.
  const theirs = caps.multiprotocol.length > 0 ? caps.multiprotocol : [{ afi: AFI_IPV4, safi: SAFI_UNICAST }];
  const families = cfg.families.filter((f) => theirs.some((t) => t.afi === f.afi && t.safi === f.safi));
  return {
    ok: true,
    negotiated: {
      peerAsn: caps.asn,
      peerRouterId: open.bgpId,
      holdTime,
      keepaliveTime: keepaliveTimeFor(holdTime),
      // We always send capability 65, so it is negotiated when the peer sent it.
      fourOctetAs: caps.fourOctetAs,
      families,
      routeRefresh: caps.routeRefresh,
      extendedNextHop: Boolean(cfg.extendedNextHop) && acceptsIpv4OverIpv6(caps),
      // We always send capability 6 too.
      extendedMessages: caps.extendedMessages,
      // We always send capability 70 too (RFC 7313 §3.1: both sides must).
      ...(caps.enhancedRouteRefresh ? { enhancedRouteRefresh: true } : {}),
      localAddress: addresses.localAddress,
      remoteAddress: addresses.remoteAddress,
      gracefulRestart:
        cfg.gracefulRestart && caps.gracefulRestart
          ? {
              restartTime: caps.gracefulRestart.restartTime,
              restartState: caps.gracefulRestart.restartState,
              // Only families negotiated on this session count.
              families: caps.gracefulRestart.families.filter((g) => families.some((f) => f.afi === g.afi && f.safi === g.safi)),
            }
          : null,
      // RFC 9494 §4.1: a long-lived capability without the graceful restart capability is ignored.
      ...(cfg.gracefulRestart && cfg.longLived && caps.gracefulRestart && caps.longLived
        ? { longLived: caps.longLived.filter((l) => families.some((f) => f.afi === l.afi && f.safi === l.safi)) }
        : {}),
      ...(cfg.role !== undefined ? { roles: { local: cfg.role, peer: caps.role as BgpRole | null } } : {}),
      ...addPathOf(cfg, caps.addPath, families),
    },
  };
}

/** RFC 7911 §5 for the families negotiated on this session; nothing when no direction applies. */
function addPathOf(cfg: SessionConfig, theirs: readonly AddPathFamily[], families: readonly AfiSafi[]): { addPath?: AddPathDirections } {
  const a = cfg.addPath;
  if (a === undefined || !(a.receive || a.send)) return {};
  const ours = families.map((f) => ({ afi: f.afi, safi: f.safi, receive: a.receive, send: a.send }));
  const d = negotiateAddPath(ours, theirs);
  return d === undefined ? {} : { addPath: d };
}

/** RFC 9234 §4.2: why the peer's role (null: it sent none) does not go with ours, or null when it does. */
function checkRole(local: BgpRole, strict: boolean, peer: number | null, conflict: boolean): string | null {
  if (conflict) return 'the peer sent BGP Role capabilities with different values';
  if (peer === null) return strict ? 'the peer sent no BGP Role capability (strict mode)' : null;
  const expected = expectedPeerRole(local);
  if (peer !== expected) return `peer role ${roleName(peer)} does not go with our role ${roleName(local)} (expected ${roleName(expected)})`;
  return null;
}
