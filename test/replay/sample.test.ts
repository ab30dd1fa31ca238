/**
 * bench/data/sample.mrt read back (RFC 6396 §4.3) equals the synthetic table it
 * was written from. After a deliberate change to the generator or the writer:
 * WGBGP_UPDATE_GOLDEN=1 npx vitest run test/replay/sample
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readMrtFile } from '#replay/mrt-file';
import type { MrtRecord } from '#replay/mrt';
import { tableFromMrt, tableRoutes, tableSize } from '#replay/table';
import { SAMPLE_PATH, SAMPLE_PEERS, SAMPLE_TABLE, SAMPLE_TIMESTAMP, sampleDump, samplePeerTable } from './sample.js';

const UPDATE = process.env.WGBGP_UPDATE_GOLDEN === '1';

describe('bench/data/sample.mrt', () => {
  it('is what the writer produces from the generator today, byte for byte (and stays small)', () => {
    const fresh = sampleDump();
    if (UPDATE) writeFileSync(SAMPLE_PATH, fresh);
    const committed = readFileSync(SAMPLE_PATH);
    expect(committed.length).toBeLessThan(64 * 1024);
    expect(committed.equals(fresh)).toBe(true);
  });

  it('starts with the PEER_INDEX_TABLE (RFC 6396 §4.3.1) and then holds one RIB record per prefix, IPv4 first, sequence numbers from 0', async () => {
    const records: MrtRecord[] = [];
    for await (const r of readMrtFile(SAMPLE_PATH)) records.push(r);
    const [first, ...ribs] = records;
    expect(first).toEqual({
      kind: 'peer-index-table',
      timestamp: SAMPLE_TIMESTAMP,
      table: { collectorBgpId: '192.0.2.1', viewName: 'wgbgp-sample', peers: SAMPLE_PEERS.map((p) => p.peer) },
    });
    expect(ribs).toHaveLength(SAMPLE_TABLE.ipv4 + SAMPLE_TABLE.ipv6);
    expect(ribs.map((r) => (r.kind === 'rib' ? r.sequence : -1))).toEqual(ribs.map((_, i) => i));
    const afis = ribs.map((r) => (r.kind === 'rib' ? r.afi : 0));
    expect(afis.indexOf(2)).toBe(SAMPLE_TABLE.ipv4);
    expect(afis.lastIndexOf(1)).toBe(SAMPLE_TABLE.ipv4 - 1);
    // Every entry of every peer: the attributes and next hops that peer announced.
    for (const [k, p] of SAMPLE_PEERS.entries()) {
      const expected = tableRoutes(samplePeerTable(k));
      const seen = new Map<string, unknown>();
      for (const r of ribs) {
        if (r.kind !== 'rib') continue;
        const e = r.entries.find((x) => x.peerIndex === k);
        if (e === undefined) continue;
        expect(e.originatedTime).toBe(SAMPLE_TIMESTAMP - 3600 * (k + 1));
        expect(e.attributes.problems).toEqual([]);
        const { nextHop, ...rest } = e.attributes.attributes;
        if (r.afi === 1) {
          expect(nextHop).toBe(p.nextHop4);
          expect(e.attributes.mpNextHops).toEqual([]);
        } else {
          expect(nextHop).toBeUndefined();
          expect(e.attributes.mpNextHops).toEqual(p.nextHop6);
        }
        seen.set(r.prefix, rest);
      }
      expect(seen).toEqual(expected);
    }
  });

  it('tableFromMrt takes one peer\'s routes, grouped by shared attribute set', async () => {
    for (const k of [0, 1]) {
      const got = await tableFromMrt(SAMPLE_PATH, { peerIndex: k });
      const want = samplePeerTable(k);
      expect(got.peer).toEqual(SAMPLE_PEERS[k]!.peer);
      expect(got.withProblems).toBe(0);
      expect(tableSize(got.table)).toEqual(tableSize(want));
      expect(tableRoutes(got.table)).toEqual(tableRoutes(want));
      // A set's IPv4 and IPv6 entries differ in their next hop attribute, so they are two groups here.
      expect(got.table.groups.length).toBe(want.groups.reduce((n, g) => n + (g.ipv4.length > 0 ? 1 : 0) + (g.ipv6.length > 0 ? 1 : 0), 0));
    }
    await expect(tableFromMrt(SAMPLE_PATH, { peerIndex: 3 })).rejects.toThrow(/peer index 3 is not in its PEER_INDEX_TABLE of 3 peers/);
  });
});
