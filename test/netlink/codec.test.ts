/**
 * rtnetlink codec against the layouts in linux/netlink.h, linux/rtnetlink.h
 * and linux/if_addr.h. Golden bytes are host order (little-endian), one
 * comment per field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPrefix, maskBytes, parsePrefix } from '#lib/prefix';
import {
  NlWriter,
  decodeAddr,
  decodeDone,
  decodeError,
  decodeLink,
  decodeRoute,
  encodeAddr,
  encodeLinkAdd,
  encodeLinkAddrGenModeNone,
  encodeLinkSetMtu,
  encodeRouteDelete,
  encodeRouteNew,
  encodeRouteReplace,
  parseIpv4PrefixInto,
  parseIpv6PrefixInto,
  splitMessages,
} from '#netlink/codec';
import { encodeRouteNhId } from '#netlink/nexthop-codec';
import { AF_INET, AF_INET6 } from '#netlink/constants';
import { NetlinkDecodeError } from '#netlink/errors';

/** Hex with spaces, newlines and `#` comments → bytes. */
function hex(s: string): Buffer {
  return Buffer.from(
    s
      .split('\n')
      .map((l) => l.replace(/#.*$/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
}

const v4 = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number));

describe('RTM_NEWROUTE', () => {
  it('10.1.0.0/24 via 10.255.0.1 dev #5, table main, proto 201', () => {
    const w = new NlWriter(64);
    encodeRouteReplace(w, 1, { family: AF_INET, dst: v4('10.1.0.0'), dstLen: 24, table: 254, protocol: 201 }, [
      { gateway: v4('10.255.0.1'), ifindex: 5 },
    ]);
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        34 00 00 00   # nlmsg_len 52
        18 00         # nlmsg_type RTM_NEWROUTE (24)
        05 05         # nlmsg_flags NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE|NLM_F_CREATE
        01 00 00 00   # nlmsg_seq 1
        00 00 00 00   # nlmsg_pid 0 (the kernel fills it in)
        02            # rtm_family AF_INET
        18            # rtm_dst_len 24
        00            # rtm_src_len
        00            # rtm_tos
        fe            # rtm_table RT_TABLE_MAIN (254)
        c9            # rtm_protocol 201
        00            # rtm_scope RT_SCOPE_UNIVERSE (has a gateway)
        01            # rtm_type RTN_UNICAST
        00 00 00 00   # rtm_flags
        08 00 01 00   # rta_len 8, RTA_DST
        0a 01 00 00   #   10.1.0.0
        08 00 05 00   # rta_len 8, RTA_GATEWAY
        0a ff 00 01   #   10.255.0.1
        08 00 04 00   # rta_len 8, RTA_OIF
        05 00 00 00   #   ifindex 5
      `).toString('hex'),
    );
  });

  it('RFC 8950: IPv4 route over two IPv6 next hops is RTA_MULTIPATH of rtnexthop + RTA_VIA, table 1000 in RTA_TABLE', () => {
    const w = new NlWriter(16);
    const ll = Buffer.from('fe80000000000000000000000000000a', 'hex');
    const ll2 = Buffer.from('fe80000000000000000000000000000b', 'hex');
    encodeRouteReplace(w, 7, { family: AF_INET, dst: v4('192.0.2.0'), dstLen: 24, table: 1000, protocol: 201 }, [
      { gateway: ll, ifindex: 3 },
      { gateway: ll2, ifindex: 4 },
    ]);
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        70 00 00 00   # nlmsg_len 112
        18 00 05 05   # RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE
        07 00 00 00   # seq 7
        00 00 00 00   # pid
        02 18 00 00   # AF_INET, dst_len 24, src_len, tos
        00            # rtm_table RT_TABLE_UNSPEC: the id does not fit 8 bits
        c9 00 01      # protocol 201, scope universe, RTN_UNICAST
        00 00 00 00   # rtm_flags
        08 00 0f 00   # RTA_TABLE
        e8 03 00 00   #   1000
        08 00 01 00   # RTA_DST
        c0 00 02 00   #   192.0.2.0
        44 00 09 00   # rta_len 68, RTA_MULTIPATH
        20 00         #   rtnh_len 32 (attributes padded)
        00 00         #   rtnh_flags 0, rtnh_hops 0 (weight 1)
        03 00 00 00   #   rtnh_ifindex 3
        16 00 12 00   #   rta_len 22, RTA_VIA
        0a 00         #     rtvia_family AF_INET6
        fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 0a   # fe80::a
        00 00         #     padding to 4
        20 00 00 00   #   rtnh_len 32, flags, hops
        04 00 00 00   #   rtnh_ifindex 4
        16 00 12 00 0a 00   # RTA_VIA AF_INET6
        fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 0b   # fe80::b
        00 00
      `).toString('hex'),
    );
  });

  it('add: 0.0.0.0/0 via 10.255.0.1 dev #5 with our metric 32 is NLM_F_CREATE|NLM_F_EXCL, never a replace', () => {
    const w = new NlWriter(64);
    encodeRouteNew(w, 3, { family: AF_INET, dst: v4('0.0.0.0'), dstLen: 0, table: 254, protocol: 201, priority: 32 }, [
      { gateway: v4('10.255.0.1'), ifindex: 5 },
    ], 'add');
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        34 00 00 00   # nlmsg_len 52
        18 00         # nlmsg_type RTM_NEWROUTE (24)
        05 06         # nlmsg_flags NLM_F_REQUEST|NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE
        03 00 00 00   # nlmsg_seq 3
        00 00 00 00   # nlmsg_pid 0
        02 00 00 00   # AF_INET, dst_len 0 (the default route: no RTA_DST), src_len, tos
        fe c9 00 01   # table main, protocol 201, scope universe, RTN_UNICAST
        00 00 00 00   # rtm_flags
        08 00 06 00   # rta_len 8, RTA_PRIORITY
        20 00 00 00   #   metric 32
        08 00 05 00   # rta_len 8, RTA_GATEWAY
        0a ff 00 01   #   10.255.0.1
        08 00 04 00   # rta_len 8, RTA_OIF
        05 00 00 00   #   ifindex 5
      `).toString('hex'),
    );
  });

  it('RTM_DELROUTE with our metric names it: the kernel deletes only the route with this protocol and metric', () => {
    const w = new NlWriter();
    encodeRouteDelete(w, 4, { family: AF_INET, dst: v4('10.1.0.0'), dstLen: 24, table: 254, protocol: 201, priority: 32 });
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        2c 00 00 00   # nlmsg_len 44
        19 00 05 00   # RTM_DELROUTE (25), NLM_F_REQUEST|NLM_F_ACK
        04 00 00 00 00 00 00 00   # seq 4, pid 0
        02 18 00 00   # AF_INET, dst_len 24
        fe c9 ff 00   # table main, protocol 201, scope RT_SCOPE_NOWHERE, type RTN_UNSPEC
        00 00 00 00   # rtm_flags
        08 00 01 00   # rta_len 8, RTA_DST
        0a 01 00 00   #   10.1.0.0
        08 00 06 00   # rta_len 8, RTA_PRIORITY
        20 00 00 00   #   metric 32
      `).toString('hex'),
    );
  });

  it('device-only route gets scope link', () => {
    const w = new NlWriter();
    encodeRouteReplace(w, 1, { family: AF_INET, dst: v4('10.255.0.1'), dstLen: 32, table: 254, protocol: 201 }, [{ ifindex: 9 }]);
    const b = w.bytes();
    expect(b[16 + 6]).toBe(253); // rtm_scope RT_SCOPE_LINK
  });

  it('RTM_DELROUTE matches on prefix, table and protocol: scope NOWHERE, type UNSPEC, no next hop', () => {
    const w = new NlWriter();
    encodeRouteDelete(w, 2, { family: AF_INET6, dst: Buffer.from('20010db8000100000000000000000000', 'hex'), dstLen: 48, table: 254, protocol: 201 });
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        30 00 00 00   # nlmsg_len 48
        19 00 05 00   # RTM_DELROUTE (25), NLM_F_REQUEST|NLM_F_ACK
        02 00 00 00 00 00 00 00   # seq 2, pid 0
        0a 30 00 00   # AF_INET6, dst_len 48
        fe c9 ff 00   # table main, protocol 201, scope RT_SCOPE_NOWHERE, type RTN_UNSPEC
        00 00 00 00   # rtm_flags
        14 00 01 00   # rta_len 20, RTA_DST
        20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 00   # 2001:db8:1::
      `).toString('hex'),
    );
  });

  it('a batch goes without NLM_F_ACK except its last message, the fence', () => {
    const w = new NlWriter();
    const r = { family: AF_INET, dst: v4('10.1.0.0'), dstLen: 24, table: 254, protocol: 201 } as const;
    encodeRouteDelete(w, 1, r, false);
    const last = w.off;
    encodeRouteReplace(w, 2, r, [{ gateway: v4('10.255.0.1'), ifindex: 5 }], false);
    const flags = (m: { flags: number }): string => m.flags.toString(16).padStart(4, '0');
    expect(splitMessages(w.bytes()).map(flags)).toEqual(['0001', '0501']); // REQUEST; REQUEST|REPLACE|CREATE
    w.requestAck(last);
    expect(splitMessages(w.bytes()).map(flags)).toEqual(['0001', '0505']); // the fence adds NLM_F_ACK
  });
});

describe('RTA_METRICS / RTAX_ADVMSS (issue 12: TCP MSS follows the tunnel MTU)', () => {
  it('host route 10.255.0.1/32 dev #5 with advmss 1380 (MTU 1420 - 40): RTA_METRICS nests one RTAX_ADVMSS', () => {
    const w = new NlWriter();
    encodeRouteNew(w, 7, { family: AF_INET, dst: v4('10.255.0.1'), dstLen: 32, table: 254, protocol: 201, priority: 32, advmss: 1380 }, [{ ifindex: 5 }], 'replace');
    const bytes = hex(`
        40 00 00 00   # nlmsg_len 64
        18 00         # RTM_NEWROUTE (24)
        05 05         # NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE|NLM_F_CREATE
        07 00 00 00 00 00 00 00   # seq 7, pid 0
        02 20 00 00   # AF_INET, dst_len 32
        fe c9 fd 01   # table main, protocol 201, scope link (device only), RTN_UNICAST
        00 00 00 00   # rtm_flags
        08 00 01 00   # rta_len 8, RTA_DST
        0a ff 00 01   #   10.255.0.1
        08 00 06 00   # rta_len 8, RTA_PRIORITY
        20 00 00 00   #   metric 32
        0c 00 08 00   # rta_len 12, RTA_METRICS (8), as iproute2's "advmss 1380" sends it
        08 00 08 00   #   rta_len 8, RTAX_ADVMSS (8)
        64 05 00 00   #     1380
        08 00 04 00   # rta_len 8, RTA_OIF
        05 00 00 00   #   ifindex 5
      `);
    expect(w.bytes().toString('hex')).toBe(bytes.toString('hex'));
    // The dump reads it back (a route of ours in a dump carries the same attribute).
    expect(decodeRoute(bytes.subarray(16)).advmss).toBe(1380);
  });

  it('host route to a tunnel peer, advmss 1380 and hop limit 255 (fib/hoplimit.ts: the kernel\'s own replies pass the peer\'s GTSM): both in one RTA_METRICS, as iproute2\'s "advmss 1380 hoplimit 255"', () => {
    const w = new NlWriter();
    encodeRouteNew(w, 7, { family: AF_INET, dst: v4('10.255.0.1'), dstLen: 32, table: 254, protocol: 201, priority: 32, advmss: 1380, hoplimit: 255 }, [{ ifindex: 5 }], 'replace');
    const bytes = hex(`
        48 00 00 00   # nlmsg_len 72
        18 00         # RTM_NEWROUTE (24)
        05 05         # NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE|NLM_F_CREATE
        07 00 00 00 00 00 00 00   # seq 7, pid 0
        02 20 00 00   # AF_INET, dst_len 32
        fe c9 fd 01   # table main, protocol 201, scope link (device only), RTN_UNICAST
        00 00 00 00   # rtm_flags
        08 00 01 00   # rta_len 8, RTA_DST
        0a ff 00 01   #   10.255.0.1
        08 00 06 00   # rta_len 8, RTA_PRIORITY
        20 00 00 00   #   metric 32
        14 00 08 00   # rta_len 20, RTA_METRICS (8)
        08 00 08 00   #   rta_len 8, RTAX_ADVMSS (8)
        64 05 00 00   #     1380
        08 00 0a 00   #   rta_len 8, RTAX_HOPLIMIT (10)
        ff 00 00 00   #     255
        08 00 04 00   # rta_len 8, RTA_OIF
        05 00 00 00   #   ifindex 5
      `);
    expect(w.bytes().toString('hex')).toBe(bytes.toString('hex'));
    const back = decodeRoute(bytes.subarray(16));
    expect([back.advmss, back.hoplimit]).toEqual([1380, 255]);
    // A hop limit without an advmss (no tunnel MTU known) still gets its nest.
    const h = new NlWriter();
    encodeRouteNew(h, 7, { family: AF_INET, dst: v4('10.255.0.1'), dstLen: 32, table: 254, protocol: 201, priority: 32, hoplimit: 255 }, [{ ifindex: 5 }], 'replace');
    expect(h.bytes().subarray(44, 56).toString('hex')).toBe(
      hex(`
        0c 00 08 00   # rta_len 12, RTA_METRICS
        08 00 0a 00   #   RTAX_HOPLIMIT
        ff 00 00 00   #     255
      `).toString('hex'),
    );
  });

  it('no advmss: no RTA_METRICS; advmss 0 is sent (it clears an earlier one, which a replace naming the same nexthop object keeps otherwise)', () => {
    const w = new NlWriter();
    encodeRouteNew(w, 7, { family: AF_INET, dst: v4('10.255.0.1'), dstLen: 32, table: 254, protocol: 201, priority: 32 }, [{ ifindex: 5 }], 'replace');
    expect(w.bytes().length).toBe(52);
    expect(decodeRoute(w.bytes().subarray(16)).advmss).toBe(0);
    const z = new NlWriter();
    encodeRouteNew(z, 7, { family: AF_INET, dst: v4('10.255.0.1'), dstLen: 32, table: 254, protocol: 201, priority: 32, advmss: 0 }, [{ ifindex: 5 }], 'replace');
    expect(z.bytes().subarray(44, 56).toString('hex')).toBe(
      hex(`
        0c 00 08 00   # rta_len 12, RTA_METRICS
        08 00 08 00   #   RTAX_ADVMSS
        00 00 00 00   #     0: none
      `).toString('hex'),
    );
  });

  it('IPv6 route naming nexthop object 9 with advmss 1360 (MTU 1420 - 60): RTA_METRICS before RTA_NH_ID', () => {
    const w = new NlWriter();
    const dst = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 2, ...new Array<number>(10).fill(0)]);
    encodeRouteNhId(w, 8, { family: AF_INET6, dst, dstLen: 48, table: 254, protocol: 201, priority: 32, advmss: 1360 }, 9, 'add');
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        4c 00 00 00   # nlmsg_len 76
        18 00 05 06   # RTM_NEWROUTE, NLM_F_REQUEST|NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE
        08 00 00 00 00 00 00 00   # seq 8, pid 0
        0a 30 00 00   # AF_INET6, dst_len 48
        fe c9 00 01   # table main, protocol 201, scope universe, RTN_UNICAST
        00 00 00 00   # rtm_flags
        14 00 01 00   # rta_len 20, RTA_DST
        20 01 0d b8 00 02 00 00 00 00 00 00 00 00 00 00   #   2001:db8:2::
        08 00 06 00   # rta_len 8, RTA_PRIORITY
        20 00 00 00   #   metric 32
        0c 00 08 00   # rta_len 12, RTA_METRICS
        08 00 08 00   #   RTAX_ADVMSS
        50 05 00 00   #     1360
        08 00 1e 00   # rta_len 8, RTA_NH_ID (30)
        09 00 00 00   #   object 9
      `).toString('hex'),
    );
  });
});

describe('RTM_NEWLINK type wireguard (the kernel backend, issue 12)', () => {
  it('NLM_F_CREATE|NLM_F_EXCL, IFLA_IFNAME, IFLA_LINKINFO { IFLA_INFO_KIND "wireguard" }; a dump reads the kind back', () => {
    const w = new NlWriter();
    encodeLinkAdd(w, 6, 'wg0', 'wireguard');
    const bytes = hex(`
        3c 00 00 00   # nlmsg_len 60
        10 00 05 06   # RTM_NEWLINK, NLM_F_REQUEST|NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE
        06 00 00 00 00 00 00 00   # seq 6, pid
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00   # ifinfomsg: any family, index 0, no flags
        08 00 03 00 77 67 30 00   # IFLA_IFNAME "wg0"
        14 00 12 00   # rta_len 20, IFLA_LINKINFO (18): the nest with its last attribute's padding
        0e 00 01 00   #   rta_len 14, IFLA_INFO_KIND (1)
        77 69 72 65 67 75 61 72 64 00 00 00   # "wireguard\0" + pad
      `);
    expect(w.bytes().toString('hex')).toBe(bytes.toString('hex'));
    expect(decodeLink(bytes.subarray(16))).toMatchObject({ name: 'wg0', kind: 'wireguard' });
  });
});

describe('RTM_NEWLINK mtu', () => {
  it('IFLA_MTU 1400 on wg0, no NLM_F_CREATE (the link exists; changed in place)', () => {
    const w = new NlWriter();
    encodeLinkSetMtu(w, 5, 'wg0', 1400);
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        30 00 00 00   # nlmsg_len 48
        10 00 05 00   # RTM_NEWLINK (16), NLM_F_REQUEST|NLM_F_ACK
        05 00 00 00 00 00 00 00   # seq 5, pid
        00 00 00 00   # ifi_family AF_UNSPEC, pad, ifi_type
        00 00 00 00   # ifi_index 0: found by IFLA_IFNAME
        00 00 00 00   # ifi_flags
        00 00 00 00   # ifi_change
        08 00 03 00   # rta_len 8, IFLA_IFNAME
        77 67 30 00   #   "wg0\0"
        08 00 04 00   # rta_len 8, IFLA_MTU (4)
        78 05 00 00   #   1400
      `).toString('hex'),
    );
  });
});

describe('RTM_NEWADDR', () => {
  it('10.255.0.0/31 on ifindex 7: IFA_LOCAL and IFA_ADDRESS both the local address', () => {
    const w = new NlWriter();
    encodeAddr(w, 2, 'add', { family: AF_INET, prefixLen: 31, index: 7, local: v4('10.255.0.0') });
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        28 00 00 00   # nlmsg_len 40
        14 00         # RTM_NEWADDR (20)
        05 05         # NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE|NLM_F_CREATE (idempotent, like 'ip addr replace')
        02 00 00 00   # seq 2
        00 00 00 00   # pid
        02            # ifa_family AF_INET
        1f            # ifa_prefixlen 31
        00            # ifa_flags
        00            # ifa_scope RT_SCOPE_UNIVERSE
        07 00 00 00   # ifa_index 7
        08 00 02 00   # rta_len 8, IFA_LOCAL
        0a ff 00 00   #   10.255.0.0
        08 00 01 00   # rta_len 8, IFA_ADDRESS
        0a ff 00 00   #   10.255.0.0 (not a peer address on point-to-point)
      `).toString('hex'),
    );
  });
});

describe('RTM_NEWLINK addrgenmode none', () => {
  it('IFLA_AF_SPEC → AF_INET6 → IFLA_INET6_ADDR_GEN_MODE = IN6_ADDR_GEN_MODE_NONE', () => {
    const w = new NlWriter();
    encodeLinkAddrGenModeNone(w, 3, 'wg0');
    expect(w.bytes().toString('hex')).toBe(
      hex(`
        38 00 00 00   # nlmsg_len 56
        10 00 05 00   # RTM_NEWLINK (16), NLM_F_REQUEST|NLM_F_ACK (no CREATE: the link must exist)
        03 00 00 00 00 00 00 00   # seq 3, pid
        00 00 00 00   # ifi_family AF_UNSPEC, pad, ifi_type
        00 00 00 00   # ifi_index 0: found by IFLA_IFNAME
        00 00 00 00   # ifi_flags
        00 00 00 00   # ifi_change
        08 00 03 00   # rta_len 8, IFLA_IFNAME
        77 67 30 00   #   "wg0\\0"
        10 00 1a 00   # rta_len 16, IFLA_AF_SPEC (26)
        0c 00 0a 00   #   rta_len 12, AF_INET6 (10)
        05 00 08 00   #     rta_len 5, IFLA_INET6_ADDR_GEN_MODE (8)
        01 00 00 00   #     IN6_ADDR_GEN_MODE_NONE, padding
      `).toString('hex'),
    );
  });
});

describe('replies', () => {
  it('decodes a dumped route: RTA_TABLE wins over rtm_table, RTA_PRIORITY is the metric', () => {
    const msg = hex(`
      44 00 00 00 18 00 02 00 09 00 00 00 00 00 00 00   # len 68, RTM_NEWROUTE, NLM_F_MULTI, seq 9
      02 18 00 00 fc c9 00 01 00 00 00 00               # AF_INET /24, table 252 (compat), proto 201, universe, unicast
      08 00 0f 00 d0 07 00 00                           # RTA_TABLE 2000
      08 00 01 00 0a 01 00 00                           # RTA_DST 10.1.0.0
      08 00 06 00 14 00 00 00                           # RTA_PRIORITY 20
      08 00 05 00 0a ff 00 01                           # RTA_GATEWAY 10.255.0.1
      08 00 04 00 05 00 00 00                           # RTA_OIF 5
    `);
    const [m] = splitMessages(msg);
    expect(m).toMatchObject({ type: 24, seq: 9 });
    expect(decodeRoute(m!.body)).toEqual({
      family: 2,
      dstLen: 24,
      table: 2000,
      protocol: 201,
      priority: 20,
      scope: 0,
      type: 1,
      prefix: '10.1.0.0/24',
      nhId: 0,
      advmss: 0,
      hoplimit: 0,
      nexthops: [{ ifindex: 5, gateway: '10.255.0.1' }],
    });
  });

  it('decodes RTA_MULTIPATH with RTA_VIA members, and the route it encoded round-trips', () => {
    const w = new NlWriter();
    const ll = Buffer.from('fe80000000000000000000000000000a', 'hex');
    encodeRouteReplace(w, 1, { family: AF_INET, dst: v4('192.0.2.0'), dstLen: 24, table: 1000, protocol: 201 }, [
      { gateway: ll, ifindex: 3 },
      { gateway: v4('10.0.0.2'), ifindex: 4 },
    ]);
    const [m] = splitMessages(w.bytes());
    expect(decodeRoute(m!.body)).toMatchObject({
      prefix: '192.0.2.0/24',
      table: 1000,
      nexthops: [
        { ifindex: 3, gateway: 'fe80::a' },
        { ifindex: 4, gateway: '10.0.0.2' },
      ],
    });
  });

  it('a route without RTA_DST is the default route', () => {
    const body = hex('0a 00 00 00 fe c9 00 01 00 00 00 00  08 00 04 00 02 00 00 00');
    expect(decodeRoute(body)).toMatchObject({ prefix: '::/0', nexthops: [{ ifindex: 2 }] });
  });

  it('NLMSG_ERROR: capped ack with an extended-ack message (NETLINK_CAP_ACK + NETLINK_EXT_ACK)', () => {
    const msg = hex(`
      38 00 00 00 02 00 00 03 05 00 00 00 aa 00 00 00   # len 56, NLMSG_ERROR, NLM_F_CAPPED|NLM_F_ACK_TLVS, seq 5
      9b ff ff ff                                       # error -101 (ENETUNREACH)
      34 00 00 00 18 00 05 05 05 00 00 00 00 00 00 00   # the request's nlmsghdr (payload not echoed)
      14 00 01 00                                       # rta_len 20, NLMSGERR_ATTR_MSG
      4e 65 78 74 68 6f 70 20 68 61 73 20 00 00 00 00   # "Nexthop has " NUL
    `);
    const [m] = splitMessages(msg);
    expect(decodeError(m!)).toEqual({ error: -101, seq: 5, message: 'Nexthop has ' });
  });

  it('NLMSG_DONE carries the dump status', () => {
    const [m] = splitMessages(hex('14 00 00 00 03 00 02 00 01 00 00 00 00 00 00 00 fe ff ff ff'));
    expect(decodeDone(m!)).toEqual({ error: -2 });
  });

  it('decodes ifinfomsg and ifaddrmsg (IFA_LOCAL preferred over IFA_ADDRESS)', () => {
    const link = hex(`
      00 00 01 00 03 00 00 00 43 10 01 00 00 00 00 00   # ifi_type 1, index 3, flags UP|RUNNING|…
      08 00 03 00 76 61 00 00                           # IFLA_IFNAME "va"
      08 00 04 00 dc 05 00 00                           # IFLA_MTU 1500
    `);
    expect(decodeLink(link)).toEqual({ index: 3, flags: 0x11043, name: 'va', mtu: 1500, kind: '' });
    const addr = hex(`
      02 1f 80 00 07 00 00 00   # AF_INET /31, IFA_F_PERMANENT, scope universe, index 7
      08 00 01 00 0a ff 00 01   # IFA_ADDRESS 10.255.0.1 (peer)
      08 00 02 00 0a ff 00 00   # IFA_LOCAL 10.255.0.0
    `);
    expect(decodeAddr(addr)).toEqual({ family: 2, prefixLen: 31, index: 7, address: '10.255.0.0' });
  });

  it('splits several messages in one datagram', () => {
    const w = new NlWriter();
    encodeAddr(w, 1, 'add', { family: AF_INET, prefixLen: 24, index: 1, local: v4('10.0.0.1') });
    encodeAddr(w, 2, 'delete', { family: AF_INET, prefixLen: 24, index: 1, local: v4('10.0.0.1') });
    expect(splitMessages(w.bytes()).map((m) => [m.type, m.seq])).toEqual([
      [20, 1],
      [21, 2],
    ]);
  });

  it('a length that overruns the datagram is a typed decode error, never a RangeError', () => {
    expect(() => splitMessages(hex('ff 00 00 00 18 00 00 00 01 00 00 00 00 00 00 00'))).toThrow(NetlinkDecodeError);
    expect(() => decodeRoute(hex('02 18 00 00 fe c9 00 01 00 00 00 00 40 00 01 00 0a 01'))).toThrow(NetlinkDecodeError);
    expect(() => decodeRoute(hex('02 18'))).toThrow(NetlinkDecodeError);
  });

  it('NlWriter grows past its initial size', () => {
    const w = new NlWriter(16);
    for (let i = 0; i < 100; i++) {
      encodeRouteReplace(w, i, { family: AF_INET, dst: v4('10.0.0.0'), dstLen: 8, table: 254, protocol: 201 }, [{ ifindex: 1 }]);
    }
    expect(splitMessages(w.bytes())).toHaveLength(100);
  });
});

describe('route destinations parsed without allocation (the batch path)', () => {
  /** What the general parser says, in the fast parsers' terms: [len, bytes] or -1. */
  const general = (s: string, family: 4 | 6): [number, string] | -1 => {
    const p = parsePrefix(s);
    return p && p.family === family ? [p.len, Buffer.from(p.bytes).toString('hex')] : -1;
  };
  const fast = (s: string, family: 4 | 6): [number, string] | -1 => {
    const out = new Uint8Array(family === 4 ? 4 : 16);
    const len = family === 4 ? parseIpv4PrefixInto(s, out) : parseIpv6PrefixInto(s, out);
    return len < 0 ? -1 : [len, Buffer.from(out).toString('hex')];
  };

  it('agree with parsePrefix on every prefix, in canonical and other spellings', () => {
    const prefix = fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(128)).map(([v4, raw, n]) => {
      const len = v4 ? n % 33 : n;
      return { family: (v4 ? 4 : 6) as 4 | 6, bytes: maskBytes(raw.subarray(0, v4 ? 4 : 16), len), len };
    });
    fc.assert(
      fc.property(prefix, fc.boolean(), ({ family, bytes, len }, upper) => {
        const spellings = [formatPrefix({ family, bytes, len })];
        if (family === 6) {
          const full = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16)).join(':');
          spellings.push(`${upper ? full.toUpperCase() : full}/${len}`);
        }
        for (const s of spellings) {
          expect(fast(s, family)).toEqual(general(s, family));
          expect(fast(s, family)).not.toBe(-1);
        }
      }),
    );
  });

  it('never accept what parsePrefix rejects (or read it differently)', () => {
    const text = fc.stringMatching(/^[0-9a-fA-F:./%g]{0,44}$/);
    fc.assert(
      fc.property(text, (s) => {
        for (const family of [4, 6] as const) {
          const f = fast(s, family);
          if (f !== -1) expect(f).toEqual(general(s, family));
        }
      }),
      { numRuns: 5000 },
    );
    for (const s of ['2001:db8::1/48', '2001:db8:::/48', ':1::/64', '1::2::/64', '2001:db8:/48', '1:2:3:4:5:6:7:8:9/128', '::ffff:1.2.3.4/128', '::/129', 'fe80::/010', '10.1.0.0/24']) {
      const f = fast(s, 6);
      if (f !== -1) expect(f).toEqual(general(s, 6));
    }
    expect(fast('2001:db8::1/48', 6)).toBe(-1);
    expect(fast('::/0', 6)).toEqual([0, '0'.repeat(32)]);
  });
});
