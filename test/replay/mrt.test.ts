/** MRT TABLE_DUMP_V2 (RFC 6396 §4.3, RFC 8050 §4): golden vectors, streaming, truncation, files. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { AsPathSegmentType } from '#bgp/wire/index';
import { MrtDecoder, MrtError, decodeRibAttributes } from '#replay/mrt';
import type { MrtRecord, PeerIndexRecord, RibRecord } from '#replay/mrt';
import { encodeMrtRecord, encodePeerIndexTable, encodeRibAttributes, encodeRibRecord } from '#replay/mrt-write';
import { readMrtFile } from '#replay/mrt-file';
import { parseHexText } from '../bgp/wire/vectors.js';

const DIR = new URL('../vectors/mrt/', import.meta.url);
const vector = (name: string): Buffer => parseHexText(readFileSync(new URL(name, DIR), 'utf8'));

const TS = 1_700_000_000;

function decodeAll(...chunks: Buffer[]): MrtRecord[] {
  const d = new MrtDecoder();
  const out = chunks.flatMap((c) => d.push(c));
  d.end();
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'wgbgp-mrt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('golden vectors', () => {
  it('RFC 6396 §4.3.1 PEER_INDEX_TABLE: Peer Type 0x01 = IPv6 address, 0x02 = 4-octet AS', () => {
    const bytes = vector('peer-index-table.hex');
    const [r] = decodeAll(bytes) as [PeerIndexRecord];
    expect(r).toEqual({
      kind: 'peer-index-table',
      timestamp: TS,
      table: {
        collectorBgpId: '192.0.2.1',
        viewName: 'test',
        peers: [
          { bgpId: '192.0.2.2', address: '198.51.100.1', asn: 65001 },
          { bgpId: '192.0.2.3', address: '2001:db8::3', asn: 130001 },
        ],
      },
    });
    expect(encodePeerIndexTable(TS, r.table)).toEqual(bytes);
  });

  it('RFC 6396 §4.3.2 RIB_IPV4_UNICAST: the entry attributes decode with the BGP codec (4-octet AS_PATH, §4.3.4)', () => {
    const bytes = vector('rib-ipv4-unicast.hex');
    const [r] = decodeAll(bytes) as [RibRecord];
    expect(r).toMatchObject({ kind: 'rib', timestamp: TS, subtype: 2, afi: 1, addPath: false, sequence: 7, prefix: '203.0.113.0/24' });
    expect(r.entries).toHaveLength(1);
    const e = r.entries[0]!;
    expect(e).toMatchObject({ peerIndex: 0, originatedTime: 0x6553f000 });
    expect(e.pathId).toBeUndefined();
    expect(e.attributes).toEqual({
      attributes: {
        origin: 0,
        asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001, 65002, 130001] }],
        nextHop: '198.51.100.1',
        med: 100,
        communities: [((65001 << 16) | 100) >>> 0],
      },
      mpNextHops: [],
      problems: [],
    });
    const attrs = encodeRibAttributes(1, e.attributes.attributes, ['198.51.100.1']);
    expect(encodeRibRecord(TS, 7, r.prefix, [{ peerIndex: 0, originatedTime: e.originatedTime, attributes: attrs }])).toEqual(bytes);
  });

  it('RFC 6396 §4.3.4 RIB_IPV6_UNICAST: MP_REACH_NLRI carries only the next hop (one, or global + link-local)', () => {
    const bytes = vector('rib-ipv6-unicast.hex');
    const [r] = decodeAll(bytes) as [RibRecord];
    expect(r).toMatchObject({ subtype: 4, afi: 2, sequence: 8, prefix: '2001:db8:1::/48' });
    const [a, b] = r.entries as [RibRecord['entries'][0], RibRecord['entries'][0]];
    expect(a.peerIndex).toBe(1);
    expect(a.attributes.mpNextHops).toEqual(['2001:db8::3']);
    expect(a.attributes.attributes).toEqual({
      origin: 0,
      asPath: [{ type: AsPathSegmentType.AsSequence, asns: [130001, 65001] }],
      largeCommunities: [[130001, 1, 2]],
    });
    expect(b).toMatchObject({ peerIndex: 0, originatedTime: 0x6553f001 });
    expect(b.attributes.mpNextHops).toEqual(['2001:db8::1', 'fe80::1']);
    expect(b.attributes.attributes).toEqual({ origin: 2, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] });
    const entries = [
      { peerIndex: 1, originatedTime: a.originatedTime, attributes: encodeRibAttributes(2, a.attributes.attributes, a.attributes.mpNextHops) },
      { peerIndex: 0, originatedTime: b.originatedTime, attributes: encodeRibAttributes(2, b.attributes.attributes, b.attributes.mpNextHops) },
    ];
    expect(encodeRibRecord(TS, 8, r.prefix, entries)).toEqual(bytes);
  });

  it('RFC 8050 §4.1 RIB_IPV4_UNICAST_ADDPATH: the Path Identifier follows the Originated Time', () => {
    const bytes = vector('rib-ipv4-unicast-addpath.hex');
    const [r] = decodeAll(bytes) as [RibRecord];
    expect(r).toMatchObject({ subtype: 8, afi: 1, addPath: true, sequence: 9, prefix: '10.0.0.0/8' });
    expect(r.entries[0]).toMatchObject({ peerIndex: 0, pathId: 5 });
    expect(r.entries[0]!.attributes.attributes).toEqual({ origin: 0, asPath: [] });
    const attrs = encodeRibAttributes(1, r.entries[0]!.attributes.attributes, []);
    expect(encodeRibRecord(TS, 9, r.prefix, [{ peerIndex: 0, originatedTime: 0x6553f000, pathId: 5, attributes: attrs }], true)).toEqual(bytes);
  });
});

describe('decoder', () => {
  const all = Buffer.concat([vector('peer-index-table.hex'), vector('rib-ipv4-unicast.hex'), vector('rib-ipv6-unicast.hex'), vector('rib-ipv4-unicast-addpath.hex')]);

  it('records split anywhere across chunks decode the same as from one chunk', () => {
    const whole = decodeAll(all);
    expect(whole.map((r) => r.kind)).toEqual(['peer-index-table', 'rib', 'rib', 'rib']);
    const bytewise = decodeAll(...Array.from(all, (_, i) => all.subarray(i, i + 1)));
    expect(bytewise).toEqual(whole);
    for (const cut of [5, 12, 13, 59, 60, 61, 200]) expect(decodeAll(all.subarray(0, cut), all.subarray(cut))).toEqual(whole);
  });

  it('a truncated stream is an MrtError naming the offset of the cut record', () => {
    const first = vector('peer-index-table.hex').length;
    for (const cut of [first + 3, first + 12, first + 40, all.length - 1]) {
      const d = new MrtDecoder();
      d.push(all.subarray(0, cut));
      let err: unknown;
      try {
        d.end();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MrtError);
      expect((err as MrtError).message).toMatch(/truncated MRT stream/);
      expect((err as MrtError).offset).toBe(cut === all.length - 1 ? all.length - vector('rib-ipv4-unicast-addpath.hex').length : first);
    }
  });

  it('an entry whose attribute length overruns its record is an MrtError at that field', () => {
    const bad = Buffer.from(vector('rib-ipv4-unicast.hex'));
    // Attribute Length sits after header 12 + sequence 4 + prefix 4 + count 2 + peer 2 + time 4.
    bad.writeUInt16BE(0x2b, 28);
    expect(() => decodeAll(bad)).toThrow(MrtError);
    try {
      decodeAll(bad);
    } catch (e) {
      expect((e as MrtError).offset).toBe(28);
      expect((e as MrtError).message).toMatch(/203\.0\.113\.0\/24: entry 0 attribute length 43 overruns the record/);
    }
  });

  it('a prefix length beyond the family is an MrtError', () => {
    const bad = Buffer.from(vector('rib-ipv4-unicast.hex'));
    bad[16] = 33;
    expect(() => decodeAll(bad)).toThrow(/prefix length 33 exceeds 32/);
  });

  it('other MRT types, multicast, RIB_GENERIC and GEO_PEER_TABLE are skipped whole, with their offset', () => {
    const bgp4mp = encodeMrtRecord(TS, 16, 4, Buffer.alloc(30, 0xab));
    const generic = encodeMrtRecord(TS, 13, 6, Buffer.alloc(7));
    const multicast = encodeMrtRecord(TS, 13, 3, Buffer.alloc(9));
    const geo = encodeMrtRecord(TS, 13, 7, Buffer.alloc(5));
    const rs = decodeAll(Buffer.concat([bgp4mp, generic, vector('rib-ipv4-unicast.hex'), multicast, geo]));
    expect(rs.map((r) => (r.kind === 'skipped' ? `${r.type}/${r.subtype}@${r.offset}` : r.kind))).toEqual([
      '16/4@0',
      '13/6@42',
      'rib',
      `13/3@${42 + 19 + 72}`,
      `13/7@${42 + 19 + 72 + 21}`,
    ]);
  });

  it('entries with the same attribute bytes share one decoded set (interning); intern:false decodes each', () => {
    const rec = vector('rib-ipv4-unicast.hex');
    const twice = Buffer.concat([rec, rec]);
    const [a, b] = decodeAll(twice) as [RibRecord, RibRecord];
    expect(a.entries[0]!.attributes).toBe(b.entries[0]!.attributes);
    const d = new MrtDecoder({ intern: false });
    const [c, e] = d.push(twice) as [RibRecord, RibRecord];
    expect(c.entries[0]!.attributes).not.toBe(e.entries[0]!.attributes);
    expect(c.entries[0]!.attributes).toEqual(e.entries[0]!.attributes);
  });

  it('RFC 6396 §4.3.4 tolerance: a full RFC 4760 MP_REACH_NLRI in a RIB entry is read too', () => {
    const full = Buffer.from('800e1500020110' + '20010db8000000000000000000000009' + '00', 'hex');
    expect(decodeRibAttributes(full, 0, full.length).mpNextHops).toEqual(['2001:db8::9']);
  });

  it('attributes the codec refuses are left out and listed; broken framing stops the walk', () => {
    // ORIGIN 7 (RFC 4271 §4.3 a: undefined), then a valid MED, then a header cut short.
    const b = Buffer.from('40010107' + '800404000000ff' + '4002', 'hex');
    const a = decodeRibAttributes(b, 0, b.length);
    expect(a.attributes).toEqual({ med: 255 });
    expect(a.problems).toEqual(['ORIGIN: undefined ORIGIN value 7', '2 trailing octet(s) cannot hold an attribute header']);
  });
});

describe('files', () => {
  const records = [
    encodePeerIndexTable(TS, { collectorBgpId: '192.0.2.1', viewName: '', peers: [{ bgpId: '192.0.2.2', address: '198.51.100.1', asn: 65001 }] }),
    ...Array.from({ length: 3000 }, (_, i) =>
      encodeRibRecord(TS, i, `203.${i >> 8}.${i & 255}.0/24`, [
        { peerIndex: 0, originatedTime: TS, attributes: encodeRibAttributes(1, { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001, 64500 + (i % 7)] }] }, ['198.51.100.1']) },
      ]),
    ),
  ];
  const plain = Buffer.concat(records);

  async function readAll(path: string): Promise<MrtRecord[]> {
    const out: MrtRecord[] = [];
    for await (const r of readMrtFile(path)) out.push(r);
    return out;
  }

  it('reads a plain and a gzip file alike, streaming', async () => {
    writeFileSync(join(tmp, 'a.mrt'), plain);
    writeFileSync(join(tmp, 'a.mrt.gz'), gzipSync(plain));
    const a = await readAll(join(tmp, 'a.mrt'));
    const b = await readAll(join(tmp, 'a.mrt.gz'));
    expect(a).toHaveLength(3001);
    expect(b).toEqual(a);
    expect((a[3000] as RibRecord).prefix).toBe('203.11.183.0/24');
  });

  it('a file cut inside a record fails with the offset; a cut gzip file fails clearly too', async () => {
    writeFileSync(join(tmp, 'cut.mrt'), plain.subarray(0, plain.length - 10));
    await expect(readAll(join(tmp, 'cut.mrt'))).rejects.toThrow(new RegExp(`truncated MRT stream.*at byte offset ${plain.length - records.at(-1)!.length}`));
    const gz = gzipSync(plain);
    writeFileSync(join(tmp, 'cut.mrt.gz'), gz.subarray(0, gz.length - 20));
    await expect(readAll(join(tmp, 'cut.mrt.gz'))).rejects.toThrow(MrtError);
  });

  it('bzip2 is refused with a clear message', async () => {
    writeFileSync(join(tmp, 'b.mrt.bz2'), Buffer.from('BZh91AY&SY', 'latin1'));
    await expect(readAll(join(tmp, 'b.mrt.bz2'))).rejects.toThrow(/bzip2-compressed, which is not supported/);
  });
});
