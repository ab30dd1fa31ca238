import { describe, expect, it } from 'vitest';
import {
  fromVppAddress,
  fromVppAddressUnion,
  fromVppAddressWithPrefix,
  fromVppPrefix,
  toVppAddress,
  toVppAddressUnion,
  toVppPrefix,
} from '#vpp/address';
import { decode, encode, fieldLayout, sizeOf, VppCodecError } from '#vpp/codec';
import { MESSAGES } from '#vpp/defs/index';
import { FrameReader, frame } from '#vpp/framing';

const def = (name: string) => MESSAGES.get(name)!;

describe('codec rules (fact sheet §1.6)', () => {
  it('missing fields are zero, and a VLA count is filled from the array', () => {
    const b = encode(def('wireguard_peer_add'), 1, {
      peer: { allowed_ips: [toVppPrefix('0.0.0.0/0')] },
    });
    expect(b.length).toBe(77 + 18);
    expect(b[76]).toBe(1); // n_allowed_ips
    expect(b.subarray(2, 76).every((x) => x === 0)).toBe(true);
  });

  it('fieldLayout: offsets from the definitions match the fact sheet (§2.3, §2.4: ip_route_add_del b8ecfe0d)', () => {
    const d = def('ip_route_add_del');
    expect(fieldLayout(d, 'context')).toEqual({ offset: 6, size: 4 });
    expect(fieldLayout(d, 'is_add')).toEqual({ offset: 10, size: 1 });
    expect(fieldLayout(d, 'route.table_id')).toEqual({ offset: 12, size: 4 });
    expect(fieldLayout(d, 'route.prefix.address.af')).toEqual({ offset: 20, size: 1 });
    expect(fieldLayout(d, 'route.prefix.address.un.ip6')).toEqual({ offset: 21, size: 16 });
    expect(fieldLayout(d, 'route.prefix.len')).toEqual({ offset: 37, size: 1 });
    expect(fieldLayout(d, 'route.n_paths')).toEqual({ offset: 38, size: 1 });
    expect(fieldLayout(d, 'route.paths')).toEqual({ offset: 39, size: null });
    expect(() => fieldLayout(d, 'route.nope')).toThrow(VppCodecError);
    expect(() => fieldLayout(def('sw_interface_dump'), 'name_filter.x')).toThrow(VppCodecError);
  });

  it('a count that contradicts its array is refused', () => {
    expect(() => encode(def('wireguard_peer_add'), 1, { peer: { n_allowed_ips: 2, allowed_ips: [] } })).toThrow(
      /wireguard_peer_add\.peer\.n_allowed_ips: count 2 but allowed_ips has 0 elements/,
    );
  });

  it('values that do not fit are VppCodecErrors naming the field', () => {
    expect(() => encode(def('sw_interface_set_flags'), 1, { sw_if_index: -1 })).toThrow(
      /sw_interface_set_flags\.sw_if_index: -1 does not fit u32/,
    );
    expect(() => encode(def('wireguard_peer_remove_reply'), 1, { retval: 2 ** 31 })).toThrow(/does not fit i32/);
    expect(() => encode(def('sw_interface_tag_add_del'), 1, { tag: 'x'.repeat(64) })).toThrow(/longer than 63 bytes/);
    expect(() => encode(def('wireguard_interface_create'), 1, { interface: { private_key: Buffer.alloc(33) } })).toThrow(
      /interface\.private_key: 33 bytes do not fit 32/,
    );
    expect(() => encode(def('ip_route_add_del'), 1, { route: { prefix: { address: { un: { ip5: Buffer.alloc(4) } } } } })).toThrow(
      /route\.prefix\.address\.un: vl_api_address_union_t has no member ip5/,
    );
    expect(() => encode(def('ip_route_add_del'), 1, { route: { paths: [{}, 'x'] } })).toThrow(/route\.paths\[1\]: expected an object/);
    expect(() => encode(def('sw_interface_set_flags'), 0x10000, {})).toThrow(/_vl_msg_id/);
  });

  it('string x[] is a u32 length and the bytes; an empty one is still 4 bytes', () => {
    expect(sizeOf(def('sw_interface_dump'), {})).toBe(19);
    const b = encode(def('sw_interface_dump'), 1, { name_filter_valid: true, name_filter: 'wg-é' });
    expect(b.readUInt32BE(15)).toBe(5);
    expect(decode(def('sw_interface_dump'), b).values.name_filter).toBe('wg-é');
  });

  it('a fixed string is read up to its NUL; trailing bytes after a message are tolerated', () => {
    const b = Buffer.concat([encode(def('sw_interface_tag_add_del'), 1, { tag: 'a' }), Buffer.from('junk')]);
    b[17] = 0x62; // a byte after the NUL is not part of the string
    expect(decode(def('sw_interface_tag_add_del'), b).values.tag).toBe('a');
  });

  it('a union decodes to every member over the same bytes, and encodes back', () => {
    const b = encode(def('ip_address_details'), 1, { prefix: toVppPrefix('10.0.0.1/24') });
    const v = decode(def('ip_address_details'), b).values;
    const un = ((v.prefix as { address: { un: Record<string, Buffer> } }).address.un);
    expect(un.ip4!.toString('hex')).toBe('0a000001');
    expect(un.ip6!.toString('hex')).toBe('0a000001000000000000000000000000');
    expect(encode(def('ip_address_details'), 1, v).equals(b)).toBe(true);
  });

  it('a message id shorter than 2 bytes is a VppCodecError', () => {
    expect(() => decode(def('control_ping'), new Uint8Array(1))).toThrow(VppCodecError);
  });
});

describe('socket framing (fact sheet §1.2)', () => {
  it('16-byte header: q 0, u32 BE data_len, gc_mark 0', () => {
    expect(frame(Buffer.from([0xab, 0xcd])).toString('hex')).toBe('0000000000000000' + '00000002' + '00000000' + 'abcd');
  });

  it('merged and split chunks give whole bodies', () => {
    const r = new FrameReader();
    const s = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('bc')), frame(Buffer.alloc(0))]);
    expect(r.push(s.subarray(0, 10))).toEqual([]);
    expect(r.push(s.subarray(10, 30)).map(String)).toEqual(['a']);
    expect(r.push(s.subarray(30)).map(String)).toEqual(['bc', '']);
  });

  it('an absurd data_len is a VppCodecError, not an allocation', () => {
    const h = Buffer.alloc(16);
    h.writeUInt32BE(0xffffffff, 8);
    expect(() => new FrameReader().push(h)).toThrow(VppCodecError);
  });
});

describe('addresses (fact sheet §2.3)', () => {
  it('round-trips addresses in canonical form', () => {
    expect(toVppAddress('10.0.0.1')).toEqual({ af: 0, un: { ip4: Buffer.from([10, 0, 0, 1]) } });
    expect(fromVppAddress(toVppAddress('10.0.0.1'))).toBe('10.0.0.1');
    expect(fromVppAddress(toVppAddress('2001:DB8:0:0::1'))).toBe('2001:db8::1');
    const decoded = decode(def('wireguard_interface_details'), encode(def('wireguard_interface_details'), 1, {
      interface: { src_ip: toVppAddress('fe80::1') },
    })).values;
    expect(fromVppAddress((decoded.interface as { src_ip: Buffer }).src_ip)).toBe('fe80::1');
  });

  it('prefixes: routes are canonical, interface addresses keep their host bits', () => {
    const p = toVppPrefix('10.0.0.1/24');
    expect(p.len).toBe(24);
    expect(fromVppPrefix(p)).toBe('10.0.0.0/24');
    expect(fromVppAddressWithPrefix(p)).toBe('10.0.0.1/24');
    expect(fromVppPrefix(toVppPrefix('2001:db8:1::/48'))).toBe('2001:db8:1::/48');
  });

  it('a fib_path next hop is the bare union; its family comes from proto', () => {
    expect(toVppAddressUnion('fd00::1')).toEqual({ ip6: Buffer.from('fd000000000000000000000000000001', 'hex') });
    expect(fromVppAddressUnion({ ip4: Buffer.from([1, 2, 3, 4]), ip6: Buffer.alloc(16) }, 0)).toBe('1.2.3.4');
  });

  it('garbage is a VppCodecError', () => {
    expect(() => toVppAddress('10.0.0.256')).toThrow(VppCodecError);
    expect(() => toVppPrefix('10.0.0.0/33')).toThrow(VppCodecError);
    expect(() => fromVppAddress({ af: 2, un: {} })).toThrow(VppCodecError);
    expect(() => fromVppPrefix({ address: { af: 0, un: { ip4: Buffer.alloc(4) } }, len: 40 })).toThrow(VppCodecError);
  });
});
