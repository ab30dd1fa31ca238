/**
 * TCP sockets for BGP that Node's `net` cannot make: bound to the tunnel
 * interface (SO_BINDTODEVICE), with GTSM (RFC 5082: IP_TTL/IPV6_UNICAST_HOPS
 * 255 out, IP_MINTTL/IPV6_MINHOPCOUNT in) and TCP MD5 (RFC 2385,
 * TCP_MD5SIG) set before the first SYN. The descriptor is made here through
 * libc (koffi) and handed to Node: `net.Server.listen({ fd })` for a listener,
 * `new net.Socket({ fd }).connect()` for an active open, so the rest is
 * ordinary Node sockets.
 *
 * Constants are Linux's (x86_64 and arm64 share them).
 */
import koffi from 'koffi';
import { AF_INET, AF_INET6, libc, SOCK_FPROG_SIZE, sockaddr as libcSockaddr } from '#lib/libc';
import type { SockFilter } from '#lib/libc';
import { parseIp, isLinkLocalV6 } from '#lib/prefix';

const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_REUSEPORT = 15;
const SO_BINDTODEVICE = 25;
const SO_ATTACH_FILTER = 26;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_FREEBIND = 15;
const IP_MINTTL = 21;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IPV6_V6ONLY = 26;
const IPV6_MINHOPCOUNT = 73;
const IPV6_FREEBIND = 78;
const IPPROTO_TCP = 6;
const TCP_MD5SIG = 14;
/** struct tcp_md5sig: sockaddr_storage, flags, prefixlen, keylen, ifindex, key[80]. */
const TCP_MD5SIG_LEN = 128 + 1 + 1 + 2 + 4 + 80;
export const TCP_MD5SIG_MAXKEYLEN = 80;

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  13: 'EACCES',
  19: 'ENODEV',
  22: 'EINVAL',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  97: 'EAFNOSUPPORT',
};

/** A socket call that failed: the errno, its name, and what was being done. */
export class SocketError extends Error {
  readonly code: string;
  constructor(
    readonly errno: number,
    context: string,
  ) {
    const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    super(`${context}: ${code} (${libc().strerror(errno)})`);
    this.code = code;
  }
}

function check(rc: number, context: string): void {
  if (rc < 0) throw new SocketError(koffi.errno(), context);
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

/** sockaddr_in / sockaddr_in6 of `address` ("" = any of `family`) and `port`; a link-local gets `scopeId`. */
function sockaddr(family: 4 | 6, address: string, port: number, scopeId = 0): Buffer {
  const sa = libcSockaddr(family, address, port, scopeId);
  if (sa === null) throw new SocketError(22, `address ${address}`);
  return sa;
}

/** The interface's index, 0 when there is none by that name. */
export function interfaceIndex(name: string): number {
  return libc().if_nametoindex(name);
}

/** What makes a BGP socket safe: where segments may come from, and how they are checked. */
export interface SocketSecurity {
  /** SO_BINDTODEVICE: only segments through this interface reach the socket, and ours leave through it. */
  device?: string;
  /** GTSM (RFC 5082): send with TTL/hop limit 255 and drop segments that arrive with less than this. */
  minTtl?: number;
  /** TCP MD5 (RFC 2385) key for segments with this peer. */
  md5?: { peer: string; key: string };
}

/** Address family of a BGP socket for `address`. */
export function familyOf(address: string): 4 | 6 {
  return parseIp(address)?.family === 6 ? 6 : 4;
}

function applySecurity(fd: number, family: 4 | 6, sec: SocketSecurity): void {
  const c = libc();
  if (sec.device !== undefined) {
    const name = Buffer.from(`${sec.device}\0`);
    check(c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length), `bind to device ${sec.device}`);
  }
  if (sec.minTtl !== undefined) {
    if (family === 4) {
      check(c.setsockopt(fd, IPPROTO_IP, IP_TTL, int32(255), 4), 'IP_TTL 255');
      check(c.setsockopt(fd, IPPROTO_IP, IP_MINTTL, int32(sec.minTtl), 4), `IP_MINTTL ${sec.minTtl}`);
    } else {
      check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, int32(255), 4), 'IPV6_UNICAST_HOPS 255');
      check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, int32(sec.minTtl), 4), `IPV6_MINHOPCOUNT ${sec.minTtl}`);
    }
  }
  if (sec.md5 !== undefined) setMd5Key(fd, family, sec.md5.peer, sec.md5.key);
}

/**
 * TCP_MD5SIG for one peer (RFC 2385); an empty key removes it. On an IPv6
 * socket an IPv4 peer is given v4-mapped, as the kernel expects.
 */
export function setMd5Key(fd: number, family: 4 | 6, peer: string, key: string): void {
  const k = Buffer.from(key, 'utf8');
  if (k.length > TCP_MD5SIG_MAXKEYLEN) throw new SocketError(22, `TCP MD5 key longer than ${TCP_MD5SIG_MAXKEYLEN} bytes`);
  const ip = parseIp(peer);
  if (!ip) throw new SocketError(22, `TCP MD5 peer ${peer}`);
  const m = Buffer.alloc(TCP_MD5SIG_LEN);
  if (ip.family === 4 && family === 4) m.set(sockaddr(4, peer, 0), 0);
  else if (ip.family === 4) {
    const mapped = Buffer.alloc(16);
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped.set(ip.bytes, 12);
    const sa = Buffer.alloc(28);
    sa.writeUInt16LE(AF_INET6, 0);
    sa.set(mapped, 8);
    m.set(sa, 0);
  } else m.set(sockaddr(6, peer, 0), 0);
  m.writeUInt16LE(k.length, 130);
  k.copy(m, 136);
  check(libc().setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, m, m.length), `TCP MD5 key for ${peer}`);
}

function open(family: 4 | 6): number {
  const fd = libc().socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  check(fd, 'socket');
  return fd;
}

function closeQuietly(fd: number): void {
  libc().close(fd);
}

function scopeOf(address: string, device: string | undefined): number {
  const ip = parseIp(address);
  if (!ip || ip.family !== 6 || !isLinkLocalV6(ip.bytes) || device === undefined) return 0;
  const index = interfaceIndex(device);
  if (index === 0) throw new SocketError(19, `interface ${device}`);
  return index;
}

export interface ListenSocketOptions extends SocketSecurity {
  family: 4 | 6;
  /** Local address to bind ("" for any); a link-local one is scoped by `device`. */
  address: string;
  port: number;
  /**
   * SO_REUSEPORT: the agent's listeners share the port, the kernel picks the
   * most specific one (device and address beat the catch-all).
   */
  reusePort: boolean;
  /** IPv6 wildcard listener also takes IPv4 (v4-mapped). */
  dualStack?: boolean;
  backlog?: number;
}

/**
 * A listening TCP socket, ready for `net.Server.listen({ fd })`. The local
 * address may be one the interface does not have yet (IP_FREEBIND): the
 * tunnel's addresses come and go with it.
 */
export function listenSocket(o: ListenSocketOptions): number {
  const c = libc();
  const fd = open(o.family);
  try {
    check(c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, int32(1), 4), 'SO_REUSEADDR');
    if (o.reusePort) check(c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, int32(1), 4), 'SO_REUSEPORT');
    if (o.family === 6) check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, int32(o.dualStack ? 0 : 1), 4), 'IPV6_V6ONLY');
    if (o.address !== '') {
      if (o.family === 4) check(c.setsockopt(fd, IPPROTO_IP, IP_FREEBIND, int32(1), 4), 'IP_FREEBIND');
      else check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, int32(1), 4), 'IPV6_FREEBIND');
    }
    applySecurity(fd, o.family, o);
    const sa = sockaddr(o.family, o.address, o.port, scopeOf(o.address, o.device));
    check(c.bind(fd, sa, sa.length), `bind ${o.address === '' ? (o.family === 4 ? '0.0.0.0' : '::') : o.address} port ${o.port}`);
    check(c.listen(fd, o.backlog ?? 64), 'listen');
    return fd;
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
}

export interface ConnectSocketOptions extends SocketSecurity {
  family: 4 | 6;
  /** Source address; a link-local one is scoped by `device`. */
  localAddress?: string;
}

/**
 * An unconnected TCP socket with everything set that must be in place before
 * the SYN, for `new net.Socket({ fd }).connect(...)`.
 */
export function connectSocket(o: ConnectSocketOptions): number {
  const c = libc();
  const fd = open(o.family);
  try {
    applySecurity(fd, o.family, o);
    if (o.localAddress !== undefined) {
      if (o.family === 4) check(c.setsockopt(fd, IPPROTO_IP, IP_FREEBIND, int32(1), 4), 'IP_FREEBIND');
      else check(c.setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, int32(1), 4), 'IPV6_FREEBIND');
      const sa = sockaddr(o.family, o.localAddress, 0, scopeOf(o.localAddress, o.device));
      check(c.bind(fd, sa, sa.length), `bind ${o.localAddress}`);
    }
    return fd;
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
}

/**
 * Classic BPF, run by the kernel on each segment for a listening socket with
 * the packet starting at the TCP header: drop a segment with SYN set (flags
 * are octet 13), pass the rest.
 */
const DROP_SYN: SockFilter[] = [
  { code: 0x30, jt: 0, jf: 0, k: 13 }, // ldb [13]
  { code: 0x45, jt: 0, jf: 1, k: 0x02 }, // jset #SYN
  { code: 0x06, jt: 0, jf: 0, k: 0 }, // ret #0: drop
  { code: 0x06, jt: 0, jf: 0, k: 0xffffffff }, // ret #-1: pass
];

/**
 * A listening socket answers no new SYN from now on (it is dropped, the peer
 * retries it later), while the handshakes it has answered already still
 * complete into its accept queue: their final ACK has no SYN. Closing a
 * listener at once would drop those half-done handshakes without a segment,
 * and the peer's side, established, would then only hear the kernel's resets,
 * which a GTSM or TCP MD5 peer discards (TTL 64, no signature).
 */
export function refuseHandshakes(fd: number): void {
  check(libc().setsockoptFilter(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: DROP_SYN.length, filter: DROP_SYN }, SOCK_FPROG_SIZE), 'SO_ATTACH_FILTER');
}

/** Closes a descriptor that was never handed to Node. */
export function closeSocket(fd: number): void {
  closeQuietly(fd);
}
