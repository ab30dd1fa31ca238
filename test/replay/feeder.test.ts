/** The feeder's UPDATE packing (RFC 4271 §4.1, §5.1.2; RFC 4760; RFC 4724 §2), without a network. */
import { describe, expect, it } from 'vitest';
import { AsPathSegmentType, MessageFramer, MessageType, decodeMessage } from '#bgp/wire/index';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/index';
import { encodeTable } from '#replay/feeder';
import { syntheticTable } from '#replay/synthetic';
import { tableRoutes } from '#replay/table';
import { loadVector } from '../bgp/wire/vectors.js';

const table = syntheticTable({ ipv4: 6000, ipv6: 1500, seed: 5, attributeSets: 60 });
const opts = { localAsn: 65002, nextHop4: '198.18.0.2', nextHop6: 'fd00:18::2' };

function updates(writes: Buffer[], fourOctetAs = true): UpdateMessage[] {
  const framer = new MessageFramer();
  return writes.flatMap((w) => framer.push(w)).map((f) => {
    expect(f.length).toBeLessThanOrEqual(4096);
    const d = decodeMessage(f, { fourOctetAs });
    expect(d.action).toBe('none');
    return d.message as UpdateMessage;
  });
}

describe('encodeTable', () => {
  it('every route goes out once, with its attribute set, the feeder AS prepended (RFC 4271 §5.1.2) and its own next hop', () => {
    const enc = encodeTable(table, opts);
    const msgs = updates(enc.writes);
    expect(msgs).toHaveLength(enc.updates);
    expect(enc.bytes).toBe(enc.writes.reduce((n, w) => n + w.length, 0));
    const got = new Map<string, PathAttributes>();
    for (const m of msgs) {
      expect(m.type).toBe(MessageType.Update);
      const { nextHop, ...attrs } = m.attributes;
      for (const p of m.nlri) {
        expect(nextHop).toBe(opts.nextHop4);
        got.set(p, attrs);
      }
      if (m.mpReach !== undefined) {
        expect(m.mpReach).toMatchObject({ afi: 2, safi: 1, nextHops: [opts.nextHop6] });
        for (const p of m.mpReach.nlri) got.set(p, attrs);
      }
    }
    const received = (a: PathAttributes): PathAttributes => ({ ...a, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002, ...a.asPath![0]!.asns] }] });
    const want = new Map([...tableRoutes(table)].map(([p, a]) => [p, received(a)]));
    expect(got).toEqual(want);
    expect(enc.routes).toEqual({ ipv4: 6000, ipv6: 1500 });
  });

  it('packs: UPDATEs are close to 4096 octets, one attribute set each', () => {
    const enc = encodeTable(table, opts);
    const sizes: number[] = [];
    const framer = new MessageFramer();
    for (const w of enc.writes) for (const f of framer.push(w)) sizes.push(f.length);
    // Only the last UPDATE of each set and family may be short.
    const full = sizes.filter((s) => s > 4096 - 40).length;
    expect(full).toBeGreaterThanOrEqual(sizes.length - 2 * table.groups.length);
  });

  it('RFC 4724 §2: End-of-RIB is an empty UPDATE for IPv4 and an empty MP_UNREACH_NLRI for IPv6', () => {
    expect(encodeTable(table, opts).endOfRib).toEqual(Buffer.concat([loadVector('eor-ipv4.hex'), loadVector('eor-ipv6.hex')]));
  });

  it('a path that already starts with the feeder AS is not prepended again; a 2-octet peer gets AS4_PATH (RFC 6793 §4.2.2)', () => {
    const t = {
      groups: [
        { attributes: { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002, 200000] }] } as PathAttributes, ipv4: ['203.0.113.0/24'], ipv6: [] },
      ],
    };
    const [four] = updates(encodeTable(t, opts).writes);
    expect(four!.attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [65002, 200000] }]);
    const two = encodeTable(t, { ...opts, fourOctetAs: false });
    const [m] = updates(two.writes, false);
    // The codec merges AS_PATH (AS_TRANS) and AS4_PATH back into the 4-octet path.
    expect(m!.attributes.asPath).toEqual([{ type: AsPathSegmentType.AsSequence, asns: [65002, 200000] }]);
    expect(two.writes[0]!.includes(Buffer.from([0xc0, 17]))).toBe(true);
  });

  it('withdrawals: every route withdrawn once, IPv4 in Withdrawn Routes and IPv6 in MP_UNREACH_NLRI (RFC 4760 §4), no attributes, packed to 4096 octets', () => {
    const enc = encodeTable(table, opts);
    const msgs = updates(enc.withdrawals);
    expect(msgs).toHaveLength(enc.withdrawUpdates);
    const v4: string[] = [];
    const v6: string[] = [];
    for (const m of msgs) {
      expect(m.nlri).toEqual([]);
      expect(m.mpReach).toBeUndefined();
      expect(m.attributes).toEqual({});
      v4.push(...m.withdrawn);
      if (m.mpUnreach !== undefined) {
        expect(m.mpUnreach).toMatchObject({ afi: 2, safi: 1 });
        v6.push(...m.mpUnreach.withdrawn);
      }
    }
    const routes = tableRoutes(table);
    expect(new Set(v4).size).toBe(v4.length);
    expect(new Set(v6).size).toBe(v6.length);
    expect(new Set([...v4, ...v6])).toEqual(new Set(routes.keys()));
    expect(v4.every((p) => !p.includes(':'))).toBe(true);
    // Packed: about 1500 IPv4 /24s fit in one UPDATE; all but the last per family are near full.
    const sizes: number[] = [];
    const framer = new MessageFramer();
    for (const w of enc.withdrawals) for (const f of framer.push(w)) sizes.push(f.length);
    expect(sizes.filter((s) => s > 4096 - 40).length).toBeGreaterThanOrEqual(sizes.length - 2);
  });

  it('refuses a table with routes of a family it has no next hop for', () => {
    expect(() => encodeTable(table, { localAsn: 65002, nextHop4: '198.18.0.2' })).toThrow(/IPv6 next hop is needed/);
  });
});
