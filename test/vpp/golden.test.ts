/**
 * Golden vectors: bytes written by hand from the .api layouts (one comment per
 * field, offsets as in the fact sheet §2, test/vectors/vpp/*.hex), checked both
 * ways: the values encode to exactly those bytes, the bytes decode to the values
 * (and encode back unchanged). Sizes are the fact sheet's, which count the u16
 * message id.
 */
import { describe, expect, it } from 'vitest';
import { decode, encode, sizeOf, type VppRecord } from '#vpp/codec';
import { MESSAGES, TYPES } from '#vpp/defs/index';
import { loadVector, vectorNames } from './vectors.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const seq = (from: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => from + i));
const v4 = (...b: number[]): { ip4: Buffer } => ({ ip4: Buffer.from(b) });
const v6 = (s: string): { ip6: Buffer } => ({ ip6: hex(s) });
const HANDLE = 0x80000000;
const ALL = 0xffffffff;

interface Case {
  msgId: number;
  values: VppRecord;
  /** The fact sheet's size, where it gives one. */
  size?: number;
}

const fibPath = (sw: number, proto: number, nh: { ip4: Buffer } | { ip6: Buffer }): VppRecord => ({
  sw_if_index: sw,
  table_id: 0,
  weight: 1,
  preference: 0,
  type: 0,
  flags: 0,
  proto,
  nh: { address: nh, via_label: 0, obj_id: 0, classify_table_index: 0 },
  n_labels: 0,
});

const CASES: Record<string, Case> = {
  sockclnt_create: { msgId: 15, size: 70, values: { context: 0x01020304, name: 'wgbgp' } },
  sockclnt_create_reply: {
    msgId: 16,
    size: 20 + 66 * 2,
    values: {
      client_index: 0,
      context: 0x01020304,
      response: 0,
      index: HANDLE,
      count: 2,
      message_table: [
        { index: 23, name: 'control_ping_51077d14' },
        { index: 24, name: 'control_ping_reply_f6b0b8ca' },
      ],
    },
  },
  sockclnt_delete: { msgId: 17, size: 14, values: { client_index: HANDLE, context: 7, index: HANDLE } },
  sockclnt_delete_reply: { msgId: 18, size: 10, values: { context: 7, response: 1 } },
  control_ping: { msgId: 23, size: 10, values: { client_index: HANDLE, context: 8 } },
  control_ping_reply: { msgId: 24, size: 18, values: { context: 8, retval: 0, client_index: HANDLE, vpe_pid: 1234 } },
  memclnt_keepalive: { msgId: 21, size: 10, values: { client_index: HANDLE, context: 9 } },
  memclnt_keepalive_reply: { msgId: 22, size: 10, values: { context: 9, retval: 0 } },
  show_version: { msgId: 0x100, size: 10, values: { client_index: HANDLE, context: 10 } },
  show_version_reply: {
    msgId: 0x101,
    size: 362,
    values: { context: 10, retval: 0, program: 'vpe', version: '25.10-release', build_date: '2025-10-29', build_directory: '/w' },
  },
  wireguard_interface_create: {
    msgId: 0x300,
    size: 102,
    values: {
      client_index: HANDLE,
      context: 0x101,
      interface: {
        user_instance: ALL,
        sw_if_index: 0,
        private_key: seq(1, 32),
        public_key: Buffer.alloc(32),
        port: 51820,
        src_ip: { af: 0, un: v4(198, 51, 100, 1) },
      },
      generate_key: false,
    },
  },
  wireguard_interface_create_reply: { msgId: 0x301, size: 14, values: { context: 0x101, retval: 0, sw_if_index: 5 } },
  wireguard_interface_delete: { msgId: 0x302, size: 14, values: { client_index: HANDLE, context: 0x102, sw_if_index: 5 } },
  wireguard_interface_delete_reply: { msgId: 0x303, size: 10, values: { context: 0x102, retval: -8 } },
  wireguard_interface_dump: {
    msgId: 0x304,
    size: 15,
    values: { client_index: HANDLE, context: 0x103, show_private_key: false, sw_if_index: ALL },
  },
  wireguard_interface_details: {
    msgId: 0x305,
    size: 97,
    values: {
      context: 0x103,
      interface: {
        user_instance: 3,
        sw_if_index: 5,
        private_key: Buffer.alloc(32),
        public_key: seq(0xa0, 32),
        port: 51821,
        src_ip: { af: 1, un: v6('20010db8000000000000000000000001') },
      },
    },
  },
  wireguard_peer_add: {
    msgId: 0x306,
    size: 77 + 18 * 2,
    values: {
      client_index: HANDLE,
      context: 0x104,
      peer: {
        peer_index: 0,
        public_key: seq(0x40, 32),
        port: 51820,
        persistent_keepalive: 25,
        table_id: 0,
        endpoint: { af: 0, un: v4(198, 51, 100, 2) },
        sw_if_index: 5,
        flags: 0,
        n_allowed_ips: 2,
        allowed_ips: [
          { address: { af: 0, un: v4(0, 0, 0, 0) }, len: 0 },
          { address: { af: 1, un: v6('00000000000000000000000000000000') }, len: 0 },
        ],
      },
    },
  },
  wireguard_peer_add_reply: { msgId: 0x307, size: 14, values: { context: 0x104, retval: 0, peer_index: 7 } },
  wireguard_peer_remove: { msgId: 0x308, size: 14, values: { client_index: HANDLE, context: 0x105, peer_index: 7 } },
  wireguard_peer_remove_reply: { msgId: 0x309, size: 10, values: { context: 0x105, retval: -6 } },
  wireguard_peers_dump: { msgId: 0x30a, size: 14, values: { client_index: HANDLE, context: 0x106, peer_index: ALL } },
  wireguard_peers_details: {
    msgId: 0x30b,
    size: 73 + 18,
    values: {
      context: 0x106,
      peer: {
        peer_index: 7,
        public_key: seq(0x40, 32),
        port: 54321,
        persistent_keepalive: 25,
        table_id: 0,
        endpoint: { af: 1, un: v6('20010db8000000000000000000000002') },
        sw_if_index: 5,
        flags: 2,
        n_allowed_ips: 1,
        allowed_ips: [{ address: { af: 0, un: v4(10, 0, 0, 0) }, len: 8 }],
      },
    },
  },
  want_wireguard_peer_events: {
    msgId: 0x30c,
    size: 26,
    values: { client_index: HANDLE, context: 0x107, sw_if_index: ALL, peer_index: 7, enable_disable: 1, pid: 4242 },
  },
  want_wireguard_peer_events_reply: { msgId: 0x30d, size: 10, values: { context: 0x107, retval: 0 } },
  wireguard_peer_event: { msgId: 0x30e, size: 15, values: { client_index: 0, pid: 0, peer_index: 7, flags: 2 } },
  sw_interface_set_flags: { msgId: 0x400, size: 18, values: { client_index: HANDLE, context: 0x201, sw_if_index: 5, flags: 1 } },
  sw_interface_set_flags_reply: { msgId: 0x401, size: 10, values: { context: 0x201, retval: 0 } },
  sw_interface_add_del_address: {
    msgId: 0x402,
    size: 34,
    values: {
      client_index: HANDLE,
      context: 0x202,
      sw_if_index: 5,
      is_add: true,
      del_all: false,
      prefix: { address: { af: 0, un: v4(10, 255, 0, 0) }, len: 31 },
    },
  },
  sw_interface_add_del_address_reply: { msgId: 0x403, size: 10, values: { context: 0x202, retval: -127 } },
  sw_interface_dump: {
    msgId: 0x404,
    size: 19 + 2,
    values: { client_index: HANDLE, context: 0x203, sw_if_index: ALL, name_filter_valid: true, name_filter: 'wg' },
  },
  sw_interface_details: {
    msgId: 0x405,
    size: 295,
    values: {
      context: 0x203,
      sw_if_index: 5,
      sup_sw_if_index: 5,
      l2_address: hex('020000000005'),
      flags: 3,
      type: 2,
      link_duplex: 2,
      link_speed: 1_000_000,
      link_mtu: 1420,
      mtu: [1420, 1420, 1420, 0],
      sub_id: 0,
      sub_number_of_tags: 0,
      b_dmac: Buffer.alloc(6),
      i_sid: 0,
      interface_name: 'wg0',
      interface_dev_type: 'Wireguard Tunnel',
      tag: 'wg-site-b',
    },
  },
  sw_interface_tag_add_del: {
    msgId: 0x406,
    size: 79,
    values: { client_index: HANDLE, context: 0x204, is_add: true, sw_if_index: 5, tag: 'wg-site-b' },
  },
  sw_interface_tag_add_del_reply: { msgId: 0x407, size: 10, values: { context: 0x204, retval: 0 } },
  sw_interface_ip6_enable_disable: {
    msgId: 0x500,
    size: 15,
    values: { client_index: HANDLE, context: 0x205, sw_if_index: 5, enable: true },
  },
  sw_interface_ip6_enable_disable_reply: { msgId: 0x501, size: 10, values: { context: 0x205, retval: 0 } },
  sw_interface_set_unnumbered: {
    msgId: 0x408,
    size: 19,
    values: { client_index: HANDLE, context: 0x206, sw_if_index: 1, unnumbered_sw_if_index: 5, is_add: true },
  },
  sw_interface_set_unnumbered_reply: { msgId: 0x409, size: 10, values: { context: 0x206, retval: 0 } },
  sw_interface_set_mtu: {
    msgId: 0x40d,
    size: 30,
    values: { client_index: HANDLE, context: 0x208, sw_if_index: 5, mtu: [1400, 0, 0, 0] },
  },
  sw_interface_set_mtu_reply: { msgId: 0x40e, size: 10, values: { context: 0x208, retval: 0 } },
  want_interface_events: { msgId: 0x40a, size: 18, values: { client_index: HANDLE, context: 0x207, enable_disable: 1, pid: 4242 } },
  want_interface_events_reply: { msgId: 0x40b, size: 10, values: { context: 0x207, retval: 0 } },
  sw_interface_event: {
    msgId: 0x40c,
    size: 19,
    values: { client_index: 0x80000001, pid: 4242, sw_if_index: 5, flags: 1, deleted: false },
  },
  ip_address_dump: { msgId: 0x502, size: 15, values: { client_index: HANDLE, context: 0x301, sw_if_index: 5, is_ipv6: true } },
  ip_address_details: {
    msgId: 0x503,
    size: 28,
    values: { context: 0x301, sw_if_index: 5, prefix: { address: { af: 1, un: v6('fd000255000000000000000000000000') }, len: 127 } },
  },
  ip_route_add_del: {
    msgId: 0x504,
    size: 206,
    values: {
      client_index: HANDLE,
      context: 0x302,
      is_add: true,
      is_multipath: false,
      route: {
        table_id: 0,
        stats_index: 0,
        prefix: { address: { af: 0, un: v4(10, 1, 0, 0) }, len: 24 },
        n_paths: 1,
        paths: [fibPath(5, 0, v4(10, 255, 0, 1))],
      },
    },
  },
  ip_route_add_del_reply: { msgId: 0x505, size: 14, values: { context: 0x302, retval: 0, stats_index: 12 } },
  ip_route_dump: {
    msgId: 0x506,
    size: 79,
    values: { client_index: HANDLE, context: 0x303, table: { table_id: 0, is_ip6: true, name: '' } },
  },
  ip_route_details: {
    msgId: 0x507,
    size: 33 + 167,
    values: {
      context: 0x303,
      route: {
        table_id: 0,
        stats_index: 3,
        prefix: { address: { af: 1, un: v6('20010db8000100000000000000000000') }, len: 48 },
        n_paths: 1,
        paths: [fibPath(5, 1, v6('fd000255000000000000000000000001'))],
      },
    },
  },
  ip_table_add_del: {
    msgId: 0x508,
    size: 80,
    values: { client_index: HANDLE, context: 0x304, is_add: true, table: { table_id: 100, is_ip6: false, name: 'wgbgp' } },
  },
  ip_table_add_del_reply: { msgId: 0x509, size: 10, values: { context: 0x304, retval: 0 } },
  ip_table_dump: { msgId: 0x50c, size: 10, values: { client_index: HANDLE, context: 0x306 } },
  ip_table_details: { msgId: 0x50d, size: 75, values: { context: 0x306, table: { table_id: 1_790_179_001, is_ip6: true, name: 'wgbgp-pic' } } },
  ip_route_lookup: {
    msgId: 0x50a,
    size: 33,
    values: { client_index: HANDLE, context: 0x305, table_id: 0, exact: 0, prefix: { address: { af: 0, un: v4(198, 51, 100, 2) }, len: 32 } },
  },
  ip_route_lookup_reply: {
    msgId: 0x50b,
    size: 204,
    values: {
      context: 0x305,
      retval: 0,
      route: {
        table_id: 0,
        stats_index: 7,
        prefix: { address: { af: 0, un: v4(198, 51, 100, 0) }, len: 24 },
        n_paths: 1,
        paths: [fibPath(1, 0, v4(192, 0, 2, 254))],
      },
    },
  },
  lcp_itf_pair_add_del: {
    msgId: 0x600,
    size: 64,
    values: {
      client_index: HANDLE,
      context: 0x401,
      is_add: true,
      sw_if_index: 5,
      host_if_name: 'wg-site-b',
      host_if_type: 1,
      netns: 'dataplane',
    },
  },
  lcp_itf_pair_add_del_reply: { msgId: 0x601, size: 10, values: { context: 0x401, retval: -81 } },
  lcp_itf_pair_get: { msgId: 0x602, size: 14, values: { client_index: HANDLE, context: 0x402, cursor: 0 } },
  lcp_itf_pair_get_reply: { msgId: 0x603, size: 14, values: { context: 0x402, retval: 0, cursor: ALL } },
  lcp_itf_pair_details: {
    msgId: 0x604,
    size: 67,
    values: {
      context: 0x402,
      phy_sw_if_index: 5,
      host_sw_if_index: 6,
      vif_index: 17,
      host_if_name: 'wg-site-b',
      host_if_type: 1,
      netns: 'dataplane',
    },
  },
};

describe('VPP golden vectors (hand-written from the .api layouts)', () => {
  it('there is one vector per message definition, and one case per vector', () => {
    expect(vectorNames()).toEqual([...MESSAGES.keys()].map((n) => `${n}.hex`).sort());
    expect(Object.keys(CASES).sort()).toEqual([...MESSAGES.keys()].sort());
  });

  describe.each(Object.entries(CASES))('%s', (name, c) => {
    const def = MESSAGES.get(name)!;
    const bytes = loadVector(`${name}.hex`);

    it('encodes to the hand-written bytes', () => {
      expect(encode(def, c.msgId, c.values).toString('hex')).toBe(bytes.toString('hex'));
    });

    it('decodes the bytes to the values, and encodes the result back unchanged', () => {
      const d = decode(def, bytes);
      expect(d.msgId).toBe(c.msgId);
      expect(d.values).toMatchObject(c.values);
      expect(encode(def, d.msgId, d.values).equals(bytes)).toBe(true);
    });

    it.runIf(c.size !== undefined)(`is ${c.size} bytes with its message id (fact sheet §2)`, () => {
      expect(bytes.length).toBe(c.size);
      expect(sizeOf(def, c.values)).toBe(c.size);
    });
  });
});

describe('type sizes (fact sheet §2.3)', () => {
  const typeSize = (type: string): number => {
    const probe = { name: 'probe', crc: '', fields: [{ name: 'x', type }] };
    return sizeOf(probe, {}, TYPES) - 2;
  };
  it('address is 17 bytes, prefix 18, fib_path 167, ip_route 27 + 167 n, wireguard_interface 91, wireguard_peer 67 + 18 n', () => {
    expect(typeSize('vl_api_address_t')).toBe(17);
    expect(typeSize('vl_api_prefix_t')).toBe(18);
    expect(typeSize('vl_api_address_with_prefix_t')).toBe(18);
    expect(typeSize('vl_api_fib_path_nh_t')).toBe(28);
    expect(typeSize('vl_api_fib_path_t')).toBe(167);
    expect(typeSize('vl_api_ip_route_t')).toBe(27);
    expect(typeSize('vl_api_ip_table_t')).toBe(69);
    expect(typeSize('vl_api_wireguard_interface_t')).toBe(91);
    expect(typeSize('vl_api_wireguard_peer_t')).toBe(67);
    expect(sizeOf(MESSAGES.get('ip_route_add_del')!, { route: { paths: [{}, {}, {}] } })).toBe(39 + 167 * 3);
  });
});
