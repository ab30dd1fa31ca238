/**
 * The UDP sockets of BFD single hop (RFC 5881), made through libc (koffi)
 * because Node's dgram cannot do what the RFC asks:
 * - receive: one socket per family on port 3784 with IP_RECVTTL/IP_PKTINFO
 *   (IPv6: IPV6_RECVHOPLIMIT/IPV6_RECVPKTINFO), read with recvmsg so each
 *   packet comes with its TTL (RFC 5881 §5: only 255 is accepted) and the
 *   interface it arrived on (the session is bound to its tunnel);
 * - send: one socket per session, bound to the tunnel interface
 *   (SO_BINDTODEVICE) and to a source port in 49152–65535 that stays the same
 *   for the session (RFC 5881 §4), TTL/hop limit 255 (RFC 5881 §5).
 * Readability comes from koffi's libuv poll handle, so the event loop of
 * whichever thread runs BFD wakes for packets.
 *
 * Constants and struct layouts are Linux LP64 (x86_64 and arm64 share them).
 */
import koffi from 'koffi';
import { AF_INET, AF_INET6, libc, sockaddr as libcSockaddr } from '#lib/libc';
import { isLinkLocalV6, parseIp } from '#lib/prefix';

export const BFD_CONTROL_PORT = 3784;
/** RFC 5881 §4: the source port range. */
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;

const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_PKTINFO = 8;
const IP_RECVTTL = 12;
const IP_FREEBIND = 15;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IPV6_V6ONLY = 26;
const IPV6_RECVPKTINFO = 49;
const IPV6_PKTINFO = 50;
const IPV6_RECVHOPLIMIT = 51;
const IPV6_HOPLIMIT = 52;
const IPV6_FREEBIND = 78;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EADDRINUSE = 98;

/** A socket call that failed. */
export class BfdSocketError extends Error {
  constructor(
    readonly errno: number,
    context: string,
  ) {
    super(`${context}: ${libc().strerror(errno)} (errno ${errno})`);
    this.name = 'BfdSocketError';
  }
}

interface Extra {
  recvmsg: (fd: number, msg: unknown, flags: number) => number;
  gettid: () => number;
  setpriority: (which: number, who: number, prio: number) => number;
}
let extra: Extra | null = null;
function ext(): Extra {
  if (extra) return extra;
  const c = koffi.load('libc.so.6');
  extra = {
    recvmsg: c.func('long recvmsg(int, void *, int)') as Extra['recvmsg'],
    gettid: c.func('int gettid(void)') as Extra['gettid'],
    setpriority: c.func('int setpriority(int, unsigned int, int)') as Extra['setpriority'],
  };
  return extra;
}

const PRIO_PROCESS = 0;

/**
 * Gives the calling thread the nice value `nice` (Linux schedules threads on
 * their own: PRIO_PROCESS with a thread id is that thread alone). Returns
 * null, or why it could not (lowering nice needs root or CAP_SYS_NICE).
 */
export function setThreadNice(nice: number): string | null {
  const e = ext();
  if (e.setpriority(PRIO_PROCESS, e.gettid(), nice) === 0) return null;
  return libc().strerror(koffi.errno());
}

function check(rc: number, context: string): void {
  if (rc < 0) throw new BfdSocketError(koffi.errno(), context);
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

function setInt(fd: number, level: number, name: number, value: number, what: string): void {
  check(libc().setsockopt(fd, level, name, int32(value), 4), what);
}

function sockaddr(family: 4 | 6, address: string, port: number, scopeId: number): Buffer {
  const sa = libcSockaddr(family, address, port, scopeId);
  if (sa === null) throw new BfdSocketError(22, `address ${address}`);
  return sa;
}

function open(family: 4 | 6): number {
  const fd = libc().socket(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  check(fd, 'socket');
  return fd;
}

export function familyOf(address: string): 4 | 6 {
  return parseIp(address)?.family === 6 ? 6 : 4;
}

/** One received datagram and what the kernel said about it. */
export interface Datagram {
  payload: Buffer;
  source: string;
  sourcePort: number;
  /** TTL (IPv4) or hop limit (IPv6); -1 when the kernel gave none. */
  ttl: number;
  /** The interface it arrived on; 0 when the kernel gave none. */
  ifindex: number;
}

// struct msghdr (56 octets) | struct iovec (16) | sockaddr_in6 room (32) | control (128) | payload
const MSGHDR = 0;
const IOVEC = 56;
const NAME = 72;
const NAME_LEN = 28;
const CONTROL = 104;
const CONTROL_LEN = 128;
const DATA = 232;
/** A BFD control packet is 24 octets, 52 at most with authentication; anything longer is read cut. */
const DATA_LEN = 512;
const TOTAL = DATA + DATA_LEN;

/** The receiving socket of one family, on port 3784 of every address. */
export class BfdReceiveSocket {
  private readonly fd: number;
  private readonly mem: unknown;
  private readonly view: Buffer;
  private poller: ReturnType<typeof koffi.node.poll> | null = null;
  private closed = false;

  constructor(
    readonly family: 4 | 6,
    port = BFD_CONTROL_PORT,
  ) {
    this.fd = open(family);
    try {
      setInt(this.fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
      if (family === 4) {
        setInt(this.fd, IPPROTO_IP, IP_RECVTTL, 1, 'IP_RECVTTL');
        setInt(this.fd, IPPROTO_IP, IP_PKTINFO, 1, 'IP_PKTINFO');
      } else {
        setInt(this.fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
        setInt(this.fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT');
        setInt(this.fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO');
      }
      const sa = sockaddr(family, '', port, 0);
      check(libc().bind(this.fd, sa, sa.length), `bind ${family === 4 ? '0.0.0.0' : '[::]'}:${port}`);
    } catch (err) {
      libc().close(this.fd);
      throw err;
    }
    this.mem = koffi.alloc('uint8_t', TOTAL);
    const base = koffi.address(this.mem);
    this.view = Buffer.from(koffi.view(this.mem, TOTAL));
    this.view.writeBigUInt64LE(base + BigInt(NAME), MSGHDR);
    this.view.writeBigUInt64LE(base + BigInt(IOVEC), MSGHDR + 16);
    this.view.writeBigUInt64LE(1n, MSGHDR + 24);
    this.view.writeBigUInt64LE(base + BigInt(CONTROL), MSGHDR + 32);
    this.view.writeBigUInt64LE(base + BigInt(DATA), IOVEC);
    this.view.writeBigUInt64LE(BigInt(DATA_LEN), IOVEC + 8);
  }

  /** Calls `fn` with every datagram, as they arrive; a failed receive goes to `failed` (the next one is tried). */
  onDatagrams(fn: (d: Datagram) => void, failed: (err: Error) => void): void {
    this.poller = koffi.node.poll(this.fd, { readable: true }, () => {
      try {
        for (let d = this.receive(); d !== null; d = this.receive()) fn(d);
      } catch (err) {
        failed(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** One queued datagram, or null when none is. */
  receive(): Datagram | null {
    const v = this.view;
    v.writeUInt32LE(NAME_LEN, MSGHDR + 8);
    v.writeBigUInt64LE(BigInt(CONTROL_LEN), MSGHDR + 40);
    v.writeInt32LE(0, MSGHDR + 48);
    const n = ext().recvmsg(this.fd, this.mem, MSG_DONTWAIT);
    if (n < 0) {
      const errno = koffi.errno();
      if (errno === EAGAIN) return null;
      throw new BfdSocketError(errno, 'recvmsg');
    }
    let ttl = -1;
    let ifindex = 0;
    const controlLen = Number(v.readBigUInt64LE(MSGHDR + 40));
    // struct cmsghdr: size_t len, int level, int type, then the data, each aligned to 8.
    for (let off = CONTROL; off + 16 <= CONTROL + controlLen; ) {
      const len = Number(v.readBigUInt64LE(off));
      if (len < 16) break;
      const level = v.readInt32LE(off + 8);
      const type = v.readInt32LE(off + 12);
      const data = off + 16;
      if (level === IPPROTO_IP && type === IP_TTL) ttl = v.readInt32LE(data);
      else if (level === IPPROTO_IP && type === IP_PKTINFO) ifindex = v.readInt32LE(data);
      else if (level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT) ttl = v.readInt32LE(data);
      else if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO) ifindex = v.readUInt32LE(data + 16);
      off += (len + 7) & ~7;
    }
    const sourcePort = v.readUInt16BE(NAME + 2);
    const source =
      this.family === 4
        ? `${v[NAME + 4]}.${v[NAME + 5]}.${v[NAME + 6]}.${v[NAME + 7]}`
        : ipv6Text(v.subarray(NAME + 8, NAME + 24));
    return { payload: Buffer.from(v.subarray(DATA, DATA + Math.min(n, DATA_LEN))), source, sourcePort, ttl, ifindex };
  }

  /** The poll handle first (no callback after this), then the descriptor and the buffer; once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller?.close();
    this.poller = null;
    libc().close(this.fd);
    koffi.free(this.mem);
  }
}

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // The canonical form (RFC 5952 §4.2.2): the longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export interface SendSocketOptions {
  /** The tunnel interface: packets leave through it only. */
  device: string;
  /** Our tunnel address; a link-local one is scoped by the device. */
  local: string;
  /** The peer's tunnel address. */
  remote: string;
  port?: number;
  /** [0, 1) for the source port choice. */
  random: () => number;
}

/** A session's sending socket: bound to its tunnel, a fixed source port in 49152–65535, TTL 255. */
export class BfdSendSocket {
  private readonly fd: number;
  private readonly dest: Buffer;
  private closed = false;
  readonly sourcePort: number;

  constructor(o: SendSocketOptions) {
    const family = familyOf(o.remote);
    const ip = parseIp(o.remote);
    const scope = ip && ip.family === 6 && isLinkLocalV6(ip.bytes) ? ifindexOf(o.device) : 0;
    if (scope === -1) throw new BfdSocketError(19, `interface ${o.device}`);
    this.dest = sockaddr(family, o.remote, o.port ?? BFD_CONTROL_PORT, scope);
    this.fd = open(family);
    try {
      const name = Buffer.from(`${o.device}\0`);
      check(libc().setsockopt(this.fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length), `bind to device ${o.device}`);
      if (family === 4) {
        setInt(this.fd, IPPROTO_IP, IP_TTL, 255, 'IP_TTL 255');
        setInt(this.fd, IPPROTO_IP, IP_FREEBIND, 1, 'IP_FREEBIND');
      } else {
        setInt(this.fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, 'IPV6_UNICAST_HOPS 255');
        setInt(this.fd, IPPROTO_IPV6, IPV6_FREEBIND, 1, 'IPV6_FREEBIND');
      }
      this.sourcePort = this.bindSourcePort(family, o.local, scope, o.random);
    } catch (err) {
      libc().close(this.fd);
      throw err;
    }
  }

  /** RFC 5881 §4: a source port in 49152–65535; a taken one is skipped. */
  private bindSourcePort(family: 4 | 6, local: string, scope: number, random: () => number): number {
    const span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1;
    const start = Math.floor(random() * span);
    for (let i = 0; i < 64; i++) {
      const port = SOURCE_PORT_MIN + ((start + i * 7919) % span);
      const sa = sockaddr(family, local, port, scope);
      if (libc().bind(this.fd, sa, sa.length) === 0) return port;
      const errno = koffi.errno();
      if (errno !== EADDRINUSE) throw new BfdSocketError(errno, `bind ${local} port ${port}`);
    }
    throw new BfdSocketError(EADDRINUSE, `no free source port in ${SOURCE_PORT_MIN}-${SOURCE_PORT_MAX} on ${local}`);
  }

  /** Sends one packet; returns the errno when the kernel refused it (0: sent, or dropped for a full queue). */
  send(packet: Buffer): number {
    const n = libc().sendto(this.fd, packet, packet.length, MSG_DONTWAIT, this.dest, this.dest.length);
    if (n >= 0) return 0;
    const errno = koffi.errno();
    return errno === EAGAIN ? 0 : errno;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
  }
}

/** The interface's index, -1 when there is none by that name. */
export function ifindexOf(name: string): number {
  const i = libc().if_nametoindex(name);
  return i === 0 ? -1 : i;
}
