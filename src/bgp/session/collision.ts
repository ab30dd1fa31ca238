/**
 * RFC 4271 §6.8 connection collisions, decided so that the peer — whichever
 * way it reads its two sockets — decides the same. Pure.
 *
 * A peer resolves a collision only when an OPEN arrives (§6.8: "upon receipt of
 * an OPEN message"), and by one of two rules: an Established connection wins,
 * or else the one initiated by the higher BGP Identifier does. The two rules
 * disagree when the speaker with the lower identifier has its own connection
 * Established while the peer, which has not read that connection's KEEPALIVE
 * yet, still sees it in OpenConfirm: each side then closes a different
 * connection. Two rules here keep the sides from ever disagreeing:
 *
 * - no OPEN goes out on a new connection once a KEEPALIVE has gone out on ours
 *   (OpenConfirm, Established): the new one is closed at once, so the peer never
 *   gets the OPEN it would resolve the collision on (GoBGP also closes
 *   connections accepted in those states);
 * - while both connections are open, the first OPEN on either decides, by
 *   identifier, before any KEEPALIVE: the peer cannot hold either connection as
 *   Established, and by the same rule keeps the same one.
 */
import type { FsmState } from '#bgp/fsm/index';
import { bgpIdToNumber } from './address.js';

/** True when our connection has sent a KEEPALIVE: a new one from the peer is closed unopened. */
export function refusesNewConnection(existing: FsmState): boolean {
  return existing === 'OpenConfirm' || existing === 'Established';
}

/** RFC 4271 §6.8 step 1, RFC 6286 §2.3: the higher BGP Identifier, then the higher ASN. */
export function localIsDominant(local: { routerId: string; asn: number }, peer: { routerId: string; asn: number }): boolean {
  const l = bgpIdToNumber(local.routerId);
  const r = bgpIdToNumber(peer.routerId);
  return l > r || (l === r && local.asn > peer.asn);
}

/**
 * With an OPEN on either of two open connections: keep the existing one (rather
 * than the peer's newer one) only when it is ours, up, and we are dominant. An
 * existing connection still in Connect was not up; one the peer initiated was
 * given up by the peer when it dialled again.
 */
export function keepsExisting(existing: { state: FsmState; outbound: boolean }, dominant: boolean): boolean {
  return existing.state === 'OpenSent' && existing.outbound && dominant;
}
