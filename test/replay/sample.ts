/**
 * The committed sample dump, bench/data/sample.mrt: a synthetic table seen by a
 * collector from three peers (IPv4 and IPv6 peer addresses, 2- and 4-octet
 * ASNs), each peer prepending its AS as it would on the wire. Rebuilt from the
 * generator, so the test can compare the file with what produced it.
 */
import { fileURLToPath } from 'node:url';
import type { PathAttributes } from '#bgp/wire/types';
import { encodeTableDump } from '#replay/mrt-write';
import type { DumpPeer } from '#replay/mrt-write';
import { syntheticTable } from '#replay/synthetic';
import type { RouteTable } from '#replay/table';

export const SAMPLE_PATH = fileURLToPath(new URL('../../bench/data/sample.mrt', import.meta.url));
export const SAMPLE_TIMESTAMP = 1_767_225_600; // 2026-01-01T00:00:00Z
export const SAMPLE_TABLE = { ipv4: 200, ipv6: 80, seed: 2026, attributeSets: 40 };

/** Documentation addresses and ASNs (RFC 5737, RFC 3849, RFC 5398) for the peers. */
export const SAMPLE_PEERS = [
  { peer: { bgpId: '192.0.2.11', address: '198.51.100.11', asn: 64496 }, nextHop4: '198.51.100.11', nextHop6: ['2001:db8::11'] },
  { peer: { bgpId: '192.0.2.12', address: '2001:db8::12', asn: 65536 }, nextHop4: '198.51.100.12', nextHop6: ['2001:db8::12', 'fe80::12'] },
  { peer: { bgpId: '192.0.2.13', address: '198.51.100.13', asn: 64497 }, nextHop4: '198.51.100.13', nextHop6: ['2001:db8::13'] },
] as const;

function withFirstAs(a: PathAttributes, asn: number): PathAttributes {
  const seg = a.asPath?.[0];
  return { ...a, asPath: [{ type: seg!.type, asns: [asn, ...seg!.asns] }, ...(a.asPath ?? []).slice(1)] };
}

/** Peer 0 has every prefix; the others each miss a fifth, chosen by position. */
function keeps(peerIndex: number, i: number): boolean {
  return peerIndex === 0 || (i * 7 + peerIndex) % 5 !== 0;
}

/** What peer `peerIndex` announced: the generator's table, its AS first. */
export function samplePeerTable(peerIndex: number): RouteTable {
  const asn = SAMPLE_PEERS[peerIndex]!.peer.asn;
  let i = 0;
  const groups = syntheticTable(SAMPLE_TABLE).groups.map((g) => ({
    attributes: withFirstAs(g.attributes, asn),
    ipv4: g.ipv4.filter(() => keeps(peerIndex, i++)),
    ipv6: g.ipv6.filter(() => keeps(peerIndex, i++)),
  }));
  return { groups: groups.filter((g) => g.ipv4.length + g.ipv6.length > 0) };
}

export function sampleDump(): Buffer {
  const peers: DumpPeer[] = SAMPLE_PEERS.map((p, k) => ({ ...p, peer: { ...p.peer }, table: samplePeerTable(k), originatedTime: SAMPLE_TIMESTAMP - 3600 * (k + 1) }));
  return Buffer.concat(encodeTableDump({ timestamp: SAMPLE_TIMESTAMP, collectorBgpId: '192.0.2.1', viewName: 'wgbgp-sample', peers }));
}
