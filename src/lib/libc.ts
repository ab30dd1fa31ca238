/**
 * The libc calls Node has no API for (netlink and datagram unix sockets,
 * socket options before a connect, setns), bound once through koffi for the
 * netlink socket, the BGP sockets and systemd notifications alike.
 */
import koffi from 'koffi';
import { parseIp } from './prefix.js';

type SendFn = (fd: number, buf: Buffer, len: number, flags: number) => number;

export interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  /** `.async` runs it on a koffi worker thread. */
  send: SendFn & { async: (fd: number, buf: Buffer, len: number, flags: number, cb: (err: unknown, n: number) => void) => void };
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Buffer, len: number) => number;
  /** setsockopt with a struct sock_fprog (SO_ATTACH_FILTER): koffi lays out the pointer to the instructions. */
  setsockoptFilter: (fd: number, level: number, name: number, prog: SockFprog, len: number) => number;
  getsockopt: (fd: number, level: number, name: number, val: Buffer, len: number[]) => number;
  close: (fd: number) => number;
  setns: (fd: number, nstype: number) => number;
  if_nametoindex: (name: string) => number;
  strerror: (errnum: number) => string;
}

/** One classic BPF instruction (struct sock_filter). */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** struct sock_fprog: a classic BPF program for SO_ATTACH_FILTER. */
export interface SockFprog {
  len: number;
  filter: SockFilter[];
}

/** sizeof(struct sock_fprog) on LP64: u16 length, padding, pointer. */
export const SOCK_FPROG_SIZE = 16;

let bound: Libc | null = null;

export function libc(): Libc {
  if (bound) return bound;
  const c = koffi.load('libc.so.6');
  // Anonymous: a named koffi type may be declared once per process, and this module may be loaded twice (src and dist).
  const sockFilter = koffi.struct({ code: 'uint16', jt: 'uint8', jf: 'uint8', k: 'uint32' });
  const sockFprog = koffi.struct({ len: 'uint16', filter: koffi.pointer(sockFilter) });
  // ssize_t is `long` on the LP64 Linux targets wgbgp supports.
  bound = {
    socket: c.func('int socket(int, int, int)') as Libc['socket'],
    bind: c.func('int bind(int, const void *, uint32_t)') as Libc['bind'],
    listen: c.func('int listen(int, int)') as Libc['listen'],
    send: c.func('long send(int, const void *, size_t, int)') as unknown as Libc['send'],
    sendto: c.func('long sendto(int, const void *, size_t, int, const void *, uint32_t)') as Libc['sendto'],
    recv: c.func('long recv(int, void *, size_t, int)') as Libc['recv'],
    setsockopt: c.func('int setsockopt(int, int, int, const void *, uint32_t)') as Libc['setsockopt'],
    setsockoptFilter: c.func('setsockopt', 'int', ['int', 'int', 'int', koffi.pointer(sockFprog), 'uint32_t']) as Libc['setsockoptFilter'],
    getsockopt: c.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)') as Libc['getsockopt'],
    close: c.func('int close(int)') as Libc['close'],
    setns: c.func('int setns(int, int)') as Libc['setns'],
    if_nametoindex: c.func('unsigned int if_nametoindex(const char *)') as Libc['if_nametoindex'],
    strerror: c.func('const char *strerror(int)') as Libc['strerror'],
  };
  return bound;
}

/** The file descriptor libuv holds for a connected net.Socket (not part of Node's typed API); null when it has none. */
export function socketFd(socket: object): number | null {
  const handle = (socket as { _handle?: { fd?: unknown } })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

export const AF_INET = 2;
export const AF_INET6 = 10;

/**
 * sockaddr_in / sockaddr_in6 of `address` ("" = any of `family`) and `port`;
 * a link-local gets `scopeId`. Null when `address` is not one of `family`:
 * the caller throws its own error.
 */
export function sockaddr(family: 4 | 6, address: string, port: number, scopeId = 0): Buffer | null {
  const ip = address === '' ? null : parseIp(address);
  if (address !== '' && (!ip || ip.family !== family)) return null;
  if (family === 4) {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(port, 2);
    if (ip) sa.set(ip.bytes, 4);
    return sa;
  }
  const sa = Buffer.alloc(28);
  sa.writeUInt16LE(AF_INET6, 0);
  sa.writeUInt16BE(port, 2);
  if (ip) sa.set(ip.bytes, 8);
  sa.writeUInt32LE(scopeId, 24);
  return sa;
}
