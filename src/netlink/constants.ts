/**
 * Numbers from the Linux uapi headers (linux/netlink.h, linux/rtnetlink.h,
 * linux/if_link.h, linux/if_addr.h, linux/socket.h, linux/nexthop.h), kept in one place so the
 * codec reads like the headers. Only what wgbgp uses.
 */

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;

/** linux/netlink.h: struct nlmsghdr is 16 bytes, payloads align to 4. */
export const NLMSG_HDRLEN = 16;
export const NLMSG_ALIGNTO = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_DUMP_INTR = 0x10;
/** Modifiers of GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** Modifiers of NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** Flags of an NLMSG_ERROR ack. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** Socket options (SOL_NETLINK = 270). */
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
/** Multicast groups (bind nl_groups): route changes of each family. */
export const RTMGRP_IPV4_ROUTE = 0x40;
export const RTMGRP_IPV6_ROUTE = 0x400;
export const RTM_GETROUTE = 26;
/** rtm_flags: answer a route get with the FIB entry that matched (prefix, protocol, metric, paths). */
export const RTM_F_FIB_MATCH = 0x2000;

/** linux/rtnetlink.h: struct rtattr (len, type), aligned to 4. */
export const RTA_ALIGNTO = 4;
export const RTA_HDRLEN = 4;

/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags (u32). */
export const RTMSG_LEN = 12;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
/** A nest of RTAX_* route metrics (u32 each). */
export const RTA_METRICS = 8;
/** RTAX_ADVMSS: the TCP MSS advertised for connections over the route (linux/rtnetlink.h). */
export const RTAX_ADVMSS = 8;
/** RTAX_HOPLIMIT: the TTL / hop limit of what this host sends over the route without one of its own (linux/rtnetlink.h). */
export const RTAX_HOPLIMIT = 10;
export const RTA_TABLE = 15;
/** struct rtvia { __kernel_sa_family_t rtvia_family; __u8 rtvia_addr[]; } — a next hop of another family. */
export const RTA_VIA = 18;

/** A route naming a nexthop object (u32 id) instead of RTA_GATEWAY/RTA_OIF/RTA_MULTIPATH (Linux 5.3). */
export const RTA_NH_ID = 30;

/** struct rtnexthop: len (u16), flags (u8), hops (u8), ifindex (s32). */
export const RTNH_LEN = 8;

export const RTN_UNICAST = 1;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_NOWHERE = 255;

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;

export const RTPROT_STATIC = 4;

/** struct ifinfomsg: family (u8), pad (u8), type (u16), index (s32), flags (u32), change (u32). */
export const IFINFOMSG_LEN = 16;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_AF_SPEC = 26;
/** A nest: IFLA_INFO_KIND (string) names the link type ("wireguard"). */
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
export const NETLINK_GENERIC = 16;
export const IFLA_EXT_MASK = 29;
export const IFLA_INET6_ADDR_GEN_MODE = 8;
export const IN6_ADDR_GEN_MODE_NONE = 1;
/** RTEXT_FILTER_SKIP_STATS: link dumps without the per-link statistics blocks. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export const IFF_UP = 0x1;

/** struct ifaddrmsg: family, prefixlen, flags, scope (u8 each), index (u32). */
export const IFADDRMSG_LEN = 8;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;

/** linux/rtnetlink.h: nexthop objects (Linux 5.3). */
export const RTM_NEWNEXTHOP = 104;
export const RTM_DELNEXTHOP = 105;
export const RTM_GETNEXTHOP = 106;

/** linux/nexthop.h: struct nhmsg { u8 nh_family, nh_scope, nh_protocol, resvd; u32 nh_flags }. */
export const NHMSG_LEN = 8;
/** u32: the object's id (1..2^32-1); 0 in a request lets the kernel choose. */
export const NHA_ID = 1;
/** An array of struct nexthop_grp { u32 id; u8 weight (weight - 1); u8 resvd1; u16 resvd2 }. */
export const NHA_GROUP = 2;
/** u16, enum nexthop_groups: NEXTHOP_GRP_TYPE_MPATH (0, hash-threshold) or _RES (1, resilient). */
export const NHA_GROUP_TYPE = 3;
/** flag: a blackhole next hop (no device, no gateway). */
export const NHA_BLACKHOLE = 4;
/** u32 ifindex; in a dump request a filter. */
export const NHA_OIF = 5;
/** be32 or in6_addr, by nh_family. */
export const NHA_GATEWAY = 6;
/** flag in a dump request: groups only. */
export const NHA_GROUPS = 9;
/** u32 ifindex in a dump request: next hops whose device is enslaved to this master. */
export const NHA_MASTER = 10;
/** struct nexthop_grp: 8 bytes. */
export const NEXTHOP_GRP_LEN = 8;
export const NEXTHOP_GRP_TYPE_MPATH = 0;
