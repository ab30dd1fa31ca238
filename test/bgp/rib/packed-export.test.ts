/**
 * Exported prefixes go from prefix numbers to UPDATE bytes without a text
 * (issue 10): the Adj-RIB-Out packer writes each prefix in its wire form
 * from the PrefixTable's words (RFC 4271 §4.3; RFC 4760 §3/§4 for
 * MP_REACH/MP_UNREACH; RFC 7911 §3 Path Identifiers), and encodeUpdate
 * copies those bytes. Golden vectors under test/vectors/bgp/export/, and a
 * property test that every UPDATE the RIB exports encodes to exactly the
 * bytes its text lists encode to, with ADD-PATH send on and off and a
 * prefix-list export policy on and off.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '#bgp/wire/index';
import type { CodecContext, MpReach, MpUnreach, PathAttributes, UpdateMessage } from '#bgp/wire/index';
import { AFI_IPV6, MessageType } from '#bgp/wire/types';
import { writePrefixWords } from '#bgp/wire/nlri';
import { Rib } from '#bgp/rib/index';
import { UpdatePacker } from '#bgp/rib/update-packer';
import type { ExportEncoding } from '#bgp/policy/index';
import { compileChain } from '#bgp/policy/engine';
import type { PolicyDefinitions } from '#config/types';
import { PrefixTable } from '#lib/prefix-table';
import { loadVector } from '../wire/vectors.js';
import { LOCAL_ASN, LOCAL_ROUTER_ID, attrs, peer, seq, stepMessage, updateStep } from './helpers.js';
import type { ReceivedUpdate } from '#bgp/wire/received';

const BOTH = { ipv4: true, ipv6: true };
const NONE = { ipv4: false, ipv6: false };
const FOUR: CodecContext = { fourOctetAs: true };
const TX: CodecContext = { fourOctetAs: true, addPath: { receive: NONE, send: BOTH } };
const RX: CodecContext = { fourOctetAs: true, addPath: { receive: BOTH, send: NONE } };

const V4_CLASSIC: ExportEncoding = { afi: 1, classic: true, nextHops: ['10.255.0.1'] };
const V6_MP: ExportEncoding = { afi: AFI_IPV6, classic: false, nextHops: ['2001:db8::1'] };
const ATTRS: PathAttributes = attrs({ asPath: [seq(65002)] });
/** The packer groups by attribute set (interned: one object). */
const ATTRS_NH: PathAttributes = { ...ATTRS, nextHop: '10.255.0.1' };

/** The same UPDATE with plain text lists: what encodeUpdate parsed before the packer wrote bytes. */
function textTwin(m: UpdateMessage): UpdateMessage {
  const t: UpdateMessage = { type: MessageType.Update, withdrawn: [...m.withdrawn], attributes: m.attributes, nlri: [...m.nlri] };
  if (m.withdrawnPathIds !== undefined) t.withdrawnPathIds = [...m.withdrawnPathIds];
  if (m.nlriPathIds !== undefined) t.nlriPathIds = [...m.nlriPathIds];
  if (m.mpReach !== undefined) {
    const r: MpReach = { afi: m.mpReach.afi, safi: m.mpReach.safi, nextHops: [...m.mpReach.nextHops], nlri: [...m.mpReach.nlri] };
    if (m.mpReach.pathIds !== undefined) r.pathIds = [...m.mpReach.pathIds];
    t.mpReach = r;
  }
  if (m.mpUnreach !== undefined) {
    const u: MpUnreach = { afi: m.mpUnreach.afi, safi: m.mpUnreach.safi, withdrawn: [...m.mpUnreach.withdrawn] };
    if (m.mpUnreach.pathIds !== undefined) u.pathIds = [...m.mpUnreach.pathIds];
    t.mpUnreach = u;
  }
  return t;
}

/** Packs with a fresh table, the prefixes interned from text; one UPDATE expected. */
function packOne(fill: (p: UpdatePacker, id: (text: string) => number) => void): UpdateMessage {
  const table = new PrefixTable();
  const packer = new UpdatePacker(table);
  fill(packer, (text) => table.intern(text));
  const out = packer.finish();
  expect(out).toHaveLength(1);
  return out[0]!;
}

describe('packed export: golden vectors', () => {
  test('writePrefixWords: RFC 4271 §4.3 length octet and the fewest octets, RFC 7911 §3 identifier first', () => {
    const b = new Uint8Array(64);
    let o = writePrefixWords(b, 0, 0, 0, 0, 0, 0);
    o = writePrefixWords(b, o, 9, 0x0a800000, 0, 0, 0);
    o = writePrefixWords(b, o, 33, 0x20010db8, 0x80000000 | 0, 0, 0, 0xfffffffe);
    expect(Buffer.from(b.subarray(0, o)).toString('hex')).toBe('00' + '090a80' + 'fffffffe' + '2120010db880');
  });

  test('RFC 4271 §4.3: IPv4 NLRI from prefix numbers, /0 /7 /32 /9', () => {
    const m = packOne((p, id) => {
      for (const t of ['0.0.0.0/0', '10.0.0.0/7', '10.0.0.1/32', '10.128.0.0/9']) p.announce(id(t), V4_CLASSIC, ATTRS_NH);
    });
    const wire = loadVector('export/packed-ipv4-nlri.hex');
    expect(encodeMessage(m, FOUR)).toEqual(wire);
    expect(encodeMessage(textTwin(m), FOUR)).toEqual(wire);
    expect(decodeMessage(wire, FOUR).message).toEqual(m);
  });

  test('RFC 7911 §3: IPv4 Withdrawn Routes with Path Identifiers (1 and 2^32-1)', () => {
    const m = packOne((p, id) => {
      p.withdraw(id('128.0.0.0/1'), true, 1);
      p.withdraw(id('192.0.2.2/31'), true, 0xffffffff);
    });
    const wire = loadVector('export/packed-ipv4-withdrawn-add-path.hex');
    expect(encodeMessage(m, TX)).toEqual(wire);
    expect(encodeMessage(textTwin(m), TX)).toEqual(wire);
    expect(decodeMessage(wire, RX).message).toEqual(m);
    expect(m.withdrawnPathIds).toEqual([1, 0xffffffff]);
    expect(m.nlriPathIds).toEqual([]);
    // RFC 7911 §3: without ADD-PATH send negotiated the identifiers cannot go out.
    expect(() => encodeMessage(m, FOUR)).toThrow(/not negotiated/);
  });

  test('RFC 4760 §3 + RFC 7911 §3: MP_REACH_NLRI IPv6 with Path Identifiers, ::/0 /33 /127 /128', () => {
    const m = packOne((p, id) => {
      p.announce(id('::/0'), V6_MP, ATTRS, 1);
      p.announce(id('2001:db8:8000::/33'), V6_MP, ATTRS, 2);
      p.announce(id('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127'), V6_MP, ATTRS, 3);
      p.announce(id('2001:db8::1/128'), V6_MP, ATTRS, 0x01000000);
    });
    const wire = loadVector('export/packed-ipv6-mp-reach-add-path.hex');
    expect(encodeMessage(m, TX)).toEqual(wire);
    expect(encodeMessage(textTwin(m), TX)).toEqual(wire);
    // The decoder gives the empty IPv4 fields of an ADD-PATH session identifiers (none); the content is the same.
    expect(content(decodeMessage(wire, RX).message as UpdateMessage)).toEqual(content(m));
    expect(() => encodeMessage(m, FOUR)).toThrow(/not negotiated/);
  });

  test('RFC 4760 §4: MP_UNREACH_NLRI IPv6 without Path Identifiers', () => {
    const m = packOne((p, id) => {
      p.withdraw(id('2001:db8:8000::/33'), false);
      p.withdraw(id('2001:db8:0:1::/64'), false);
    });
    const wire = loadVector('export/packed-ipv6-mp-unreach.hex');
    expect(encodeMessage(m, FOUR)).toEqual(wire);
    expect(encodeMessage(textTwin(m), FOUR)).toEqual(wire);
    expect(decodeMessage(wire, FOUR).message).toEqual(m);
    expect(() => encodeMessage(m, TX)).toThrow(/Path Identifiers needed/);
  });

  test('a number released and reused before finish() keeps the prefix it had when packed', () => {
    const table = new PrefixTable();
    const packer = new UpdatePacker(table);
    const a = table.intern('10.1.0.0/16');
    packer.withdraw(a, true);
    table.release(a);
    const b = table.intern('10.2.0.0/16');
    expect(b).toBe(a);
    packer.announce(b, V4_CLASSIC, ATTRS_NH);
    expect(packer.finish().map((u) => [u.withdrawn, u.nlri])).toEqual([
      [['10.1.0.0/16'], []],
      [[], ['10.2.0.0/16']],
    ]);
  });

  test("a finished packer's messages keep their prefixes when the next packer reuses the scratch memory", () => {
    const table = new PrefixTable();
    const a = new UpdatePacker(table);
    for (let i = 0; i < 100; i++) a.announce(table.intern(`10.${i}.0.0/16`), V4_CLASSIC, ATTRS_NH);
    const sentA = a.finish();
    const wireA = sentA.map((u) => encodeMessage(u, FOUR));
    const b = new UpdatePacker(table);
    for (let i = 0; i < 100; i++) b.withdraw(table.intern(`172.16.${i}.0/24`), true);
    b.finish();
    expect(sentA.map((u) => encodeMessage(u, FOUR))).toEqual(wireA);
    expect(sentA.flatMap((u) => u.nlri)).toEqual(Array.from({ length: 100 }, (_, i) => `10.${i}.0.0/16`));
    expect(() => a.finish()).toThrow(/twice/);
    expect(() => a.withdraw(0, true)).toThrow(/after finish/);
  });

  test('RFC 4271 §4: a long list is cut into messages of at most 4096 octets, every prefix once', () => {
    const table = new PrefixTable();
    const packer = new UpdatePacker(table);
    const texts: string[] = [];
    for (let i = 0; i < 3000; i++) texts.push(`10.${i >> 8}.${i & 255}.0/24`);
    for (const t of texts) packer.announce(table.intern(t), V4_CLASSIC, ATTRS_NH);
    const out = packer.finish();
    expect(out.length).toBeGreaterThan(1);
    for (const u of out) expect(encodeMessage(u, FOUR).length).toBeLessThanOrEqual(4096);
    expect(out.flatMap((u) => u.nlri)).toEqual(texts);
  });

  test('RFC 4271 §4: several long lists (withdrawals, two attribute sets, MP) each cut into messages of their own prefixes', () => {
    const table = new PrefixTable();
    const packer = new UpdatePacker(table);
    const other: PathAttributes = { ...ATTRS_NH, med: 5 };
    const gone: string[] = [];
    const first: string[] = [];
    const second: string[] = [];
    const v6: string[] = [];
    for (let i = 0; i < 2000; i++) {
      gone.push(`172.${16 + (i >> 8)}.${i & 255}.0/24`);
      first.push(`10.${i >> 8}.${i & 255}.0/24`);
      second.push(`11.${i >> 8}.${i & 255}.0/24`);
      v6.push(`2001:db8:${(i + 1).toString(16)}::/48`);
    }
    for (let i = 0; i < 2000; i++) {
      packer.withdraw(table.intern(gone[i]!), true);
      packer.announce(table.intern(first[i]!), V4_CLASSIC, ATTRS_NH);
      packer.announce(table.intern(second[i]!), V4_CLASSIC, other);
      packer.announce(table.intern(v6[i]!), V6_MP, ATTRS);
    }
    const out = packer.finish();
    for (const u of out) expect(encodeMessage(u, FOUR).length).toBeLessThanOrEqual(4096);
    expect(out.flatMap((u) => u.withdrawn)).toEqual(gone);
    expect(out.filter((u) => u.attributes === ATTRS_NH).flatMap((u) => u.nlri)).toEqual(first);
    expect(out.filter((u) => u.attributes === other).flatMap((u) => u.nlri)).toEqual(second);
    expect(out.flatMap((u) => u.mpReach?.nlri ?? [])).toEqual(v6);
    expect(out.filter((u) => u.mpReach !== undefined).length).toBeGreaterThan(1);
  });
});

const V4 = ['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.2/31', '192.0.2.1/32', '128.0.0.0/1', '10.0.0.0/7', '10.1.2.3/32'];
const V6 = ['::/0', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:8000::/33', '2001:db8::1/128', '2001:db8::/127', '2001:db8:0:1::/64'];

const DEFS: PolicyDefinitions = {
  prefixLists: {
    inner: [
      { prefix: '10.1.0.0/16', ge: 17, le: 32 },
      { prefix: '2001:db8::/32', ge: 48, le: 128 },
    ],
    wide: [
      { prefix: '0.0.0.0/0', ge: 0, le: 8 },
      { prefix: '::/0', ge: 0, le: 32 },
    ],
  },
  asPathLists: {},
  asSets: {},
  communityLists: {},
  policies: {
    'to-p4': {
      terms: [
        { name: 'no-inner', match: { prefixList: ['inner'] }, set: {}, action: 'reject' },
        { name: 'wide-med', match: { prefixList: ['wide'] }, set: { med: 50, prepend: { as: 'own', count: 2 } }, action: 'accept' },
      ],
      default: 'accept',
    },
  },
};

const step = updateStep(V4, V6);

/** The prefixes and Path Identifiers of each field (an empty field's identifiers, absent or none, alike). */
function content(u: UpdateMessage): unknown {
  return [u.withdrawn, u.withdrawnPathIds ?? [], u.nlri, u.nlriPathIds ?? [], u.mpReach?.nlri, u.mpReach?.pathIds, u.mpUnreach?.withdrawn, u.mpUnreach?.pathIds, u.attributes];
}

/** What a receiver holds after the UPDATEs: (prefix, path id) -> first ASNs of the AS_PATH and MED. */
function apply(held: Map<string, string>, us: readonly UpdateMessage[]): void {
  for (const u of us) {
    const value = JSON.stringify([u.attributes.asPath?.[0]?.asns, u.attributes.med ?? null]);
    u.withdrawn.forEach((p, i) => held.delete(`${p} ${u.withdrawnPathIds?.[i] ?? 0}`));
    u.mpUnreach?.withdrawn.forEach((p, i) => held.delete(`${p} ${u.mpUnreach!.pathIds?.[i] ?? 0}`));
    u.nlri.forEach((p, i) => held.set(`${p} ${u.nlriPathIds?.[i] ?? 0}`, value));
    u.mpReach?.nlri.forEach((p, i) => held.set(`${p} ${u.mpReach!.pathIds?.[i] ?? 0}`, value));
  }
}

describe('packed export = text export', () => {
  for (const addPath of [false, true]) {
    for (const policy of [false, true]) {
      test(`every exported UPDATE encodes to the bytes of its text lists; the stream ends where a full dump does (ADD-PATH send ${addPath}, prefix-list export policy ${policy})`, () => {
        const ctx = addPath ? TX : FOUR;
        const back = addPath ? RX : FOUR;
        fc.assert(
          fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), (steps) => {
            const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID, backups: true });
            r.addPeer(peer('p2', 65002, 2));
            r.addPeer(peer('p3', 65003, 3));
            const over = addPath ? { addPathSend: { ipv4: 2, ipv6: 2 } } : {};
            for (const [id, n] of [
              ['p4', 4],
              ['p5', 5],
            ] as const) {
              r.addPeer(peer(id, 65000 + n, n, over), { import: null, export: policy ? compileChain(DEFS, ['to-p4'], LOCAL_ASN, false, 'export') : null, softReconfiguration: false });
            }
            const held = new Map<string, string>();
            for (const s of steps) {
              const changes = r.applyUpdate(`p${s.peer + 2}`, stepMessage(s, false));
              const [forP4] = r.exportToPeers(['p4'], changes);
              for (const u of forP4!) {
                expect(u.packed).toBeDefined();
                // Nothing on the way made the texts.
                expect((u as ReceivedUpdate).textsMade).toBe(false);
                const wire = encodeMessage(u, ctx);
                expect(wire).toEqual(encodeMessage(textTwin(u), ctx));
                expect(content(decodeMessage(wire, back).message as UpdateMessage)).toEqual(content(u));
              }
              apply(held, forP4!);
            }
            // The changes sent one by one leave p4 where a whole-table dump leaves p5.
            const full = new Map<string, string>();
            const dump = r.exportFull('p5');
            for (const u of dump) expect(encodeMessage(u, ctx)).toEqual(encodeMessage(textTwin(u), ctx));
            apply(full, dump);
            expect(new Map([...held].sort())).toEqual(new Map([...full].sort()));
            expect(r.advertisedCount('p4')).toBe(r.advertisedCount('p5'));
          }),
          { numRuns: 120 },
        );
      });
    }
  }
});

describe("the export takes a change's best only while it is current", () => {
  test('RFC 4271 §9.2: a change exported after the best moved on sends the Loc-RIB as it is now', () => {
    const r = new Rib({ asn: LOCAL_ASN, routerId: LOCAL_ROUTER_ID });
    r.addPeer(peer('p2', 65002, 2));
    r.addPeer(peer('p3', 65003, 3));
    r.addPeer(peer('p4', 65004, 4));
    const P = '10.9.0.0/16';
    const first = r.applyUpdate('p2', { type: MessageType.Update, withdrawn: [], attributes: { ...attrs({ asPath: [seq(65002, 64600, 64601)] }), nextHop: '10.255.2.1' }, nlri: [P] });
    // p3's shorter path wins before the first change goes out; then p2 changes its path (same peer, other attributes).
    const second = r.applyUpdate('p3', { type: MessageType.Update, withdrawn: [], attributes: { ...attrs({ asPath: [seq(65003)] }), nextHop: '10.255.3.1' }, nlri: [P] });
    expect(first[0]!.best!.peer).toBe('p2');
    const sent = r.exportChanges('p4', first);
    expect(sent.map((u) => [u.nlri, u.attributes.asPath?.[0]?.asns])).toEqual([[[P], [65001, 65003]]]);
    expect(r.exportChanges('p4', second)).toEqual([]);
    r.applyUpdate('p3', { type: MessageType.Update, withdrawn: [P], attributes: {}, nlri: [] });
    const third = r.applyUpdate('p2', { type: MessageType.Update, withdrawn: [], attributes: { ...attrs({ asPath: [seq(65002)] }), nextHop: '10.255.2.1' }, nlri: [P] });
    // The first change names p2's old path: p2's path now has other attributes, and that is what goes.
    expect(r.exportChanges('p4', first).map((u) => u.attributes.asPath?.[0]?.asns)).toEqual([[65001, 65002]]);
    expect(r.exportChanges('p4', third)).toEqual([]);
  });
});
