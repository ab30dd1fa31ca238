/**
 * The only I/O in netlink/: an AF_NETLINK socket (NETLINK_ROUTE, or NETLINK_GENERIC for the kernel WireGuard) through libc,
 * called with koffi because Node has no AF_NETLINK.
 *
 * How it stays off the event loop (measured in a namespace, 100 000 IPv4
 * routes in 64 KiB sends of ~1000 routes, 2-core VM; bench/netlink.bench.ts):
 * - The kernel handles a NETLINK_ROUTE request inside sendto() and has queued
 *   every ack before sendto returns. That kernel work is the cost: a send
 *   usually takes 4–6 ms, but single sends took 80–140 ms (FIB growth, a busy
 *   host). Called synchronously, that froze the event loop for 60–145 ms; via
 *   koffi's `.async` (a worker thread) the loop's largest delay was 5–20 ms,
 *   at about the same throughput. So route batches use `sendAsync`.
 * - What stays on the main thread per send: encoding (~2 ms per 1000 routes,
 *   overlapping the previous send's kernel work) and one recv for its fence
 *   ack plus any errors (route requests carry no NLM_F_ACK; a recv per ack
 *   was ~3 ms per 1000 routes).
 * - Small requests (link, address, dump requests) use the synchronous send:
 *   their kernel work is microseconds and a thread hop would cost more.
 * - recv() is always synchronous with MSG_DONTWAIT: answers are already queued, and
 *   a dump is produced 32 KiB at a time inside recv (the caller yields between
 *   datagrams). When nothing is queued yet, a libuv poll handle
 *   (koffi.node.poll) waits for readability without blocking or spinning.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { libc, type Libc } from '#lib/libc';
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOL_NETLINK,
  SOL_SOCKET,
} from './constants.js';
import { EAGAIN, ETIMEDOUT, NetlinkError } from './errors.js';

const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const MSG_DONTWAIT = 0x40;
/** linux/filter.h: SO_ATTACH_FILTER and the classic BPF opcodes the route watcher uses. */
const SO_ATTACH_FILTER = 26;
const BPF_LD = 0x00;
const BPF_B = 0x10;
const BPF_ABS = 0x20;
const BPF_JMP = 0x05;
const BPF_JEQ = 0x10;
const BPF_K = 0x00;
const BPF_RET = 0x06;
const MSG_TRUNC = 0x20;
const CLONE_NEWNET = 0x40000000;
const EINTR = 4;

function fail(context: string): never {
  throw new NetlinkError(koffi.errno(), context);
}

/** koffi's poll handle; its callback gets (status, events), not the typed (events). */
interface PollHandle {
  start(opts: { readable: boolean }, cb: (status: number) => void): void;
  stop(): void;
  close(): void;
}

export interface SocketOptions {
  /**
   * Open the socket in this named network namespace (/run/netns/NAME) instead of
   * the process's own. A socket stays in the namespace it was created in, so the
   * calling thread enters the namespace only for the socket() call and returns
   * at once (setns(2) on the main thread, no event-loop turn in between).
   */
  netns?: string;
  /** Receive buffer to ask for; it must hold the answers to one send, all errors at worst (each costs 830–1050 bytes of it, measured). */
  rcvbuf?: number;
  /** Multicast groups to join (nl_groups): the socket then hears the kernel's change notifications. */
  groups?: number;
  /** Netlink protocol: NETLINK_ROUTE (0, the default) or NETLINK_GENERIC (16: the kernel WireGuard's family). */
  protocol?: number;
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

export class NetlinkSocket {
  private readonly rx = Buffer.alloc(256 * 1024);
  private poll: PollHandle | null = null;
  private closed = false;
  /** The receive buffer the kernel granted (it doubles the request; without CAP_NET_ADMIN, rmem_max caps it). */
  rcvbuf = 0;

  private constructor(private readonly fd: number) {}

  static open(opts: SocketOptions = {}): NetlinkSocket {
    const c = libc();
    const protocol = opts.protocol ?? NETLINK_ROUTE;
    const fd = opts.netns ? socketInNetns(c, opts.netns, protocol) : c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) fail('socket(AF_NETLINK)');
    const s = new NetlinkSocket(fd);
    try {
      // struct sockaddr_nl { sa_family_t nl_family; u16 pad; u32 nl_pid (0: kernel picks); u32 nl_groups; }
      const sa = Buffer.alloc(12);
      sa.writeUInt16LE(AF_NETLINK, 0);
      sa.writeUInt32LE(opts.groups ?? 0, 8);
      if (c.bind(fd, sa, sa.length) < 0) fail('bind(AF_NETLINK)');
      // Acks without the echoed request (smaller acks, more per receive buffer), with the kernel's
      // error text, and dumps filtered in the kernel. All three are optimizations: the decoder
      // reads uncapped acks too, and dump results are filtered again in code (kernels < 4.20
      // lack strict checking).
      for (const opt of [NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK]) {
        c.setsockopt(fd, SOL_NETLINK, opt, int32(1), 4);
      }
      const rcvbuf = opts.rcvbuf ?? 8 * 1024 * 1024;
      // The FORCE variants pass net.core.rmem_max with CAP_NET_ADMIN; without it, take what is allowed.
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(rcvbuf), 4) < 0) {
        s.setOpt(SOL_SOCKET, SO_RCVBUF, rcvbuf, 'SO_RCVBUF');
      }
      if (c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, int32(1024 * 1024), 4) < 0) {
        s.setOpt(SOL_SOCKET, SO_SNDBUF, 1024 * 1024, 'SO_SNDBUF');
      }
      const granted = Buffer.alloc(4);
      if (c.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, granted, [4]) < 0) fail('getsockopt(SO_RCVBUF)');
      s.rcvbuf = granted.readInt32LE(0);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /**
   * Classic BPF on the socket (SO_ATTACH_FILTER, linux/filter.h): datagrams
   * whose byte at `offset` equals `value` are dropped in the kernel, before
   * they are queued. A route watcher uses it to stay deaf to the agent's own
   * route changes: a full table written is a million notifications, which
   * cost 17 s of CPU to receive and look at (1 M routes, four phases).
   */
  dropByte(offset: number, value: number): void {
    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
    const program = Buffer.alloc(4 * 8);
    const insn = (i: number, code: number, jt: number, jf: number, k: number): void => {
      program.writeUInt16LE(code, i * 8);
      program.writeUInt8(jt, i * 8 + 2);
      program.writeUInt8(jf, i * 8 + 3);
      program.writeUInt32LE(k >>> 0, i * 8 + 4);
    };
    insn(0, BPF_LD | BPF_B | BPF_ABS, 0, 0, offset); // A = byte at offset
    insn(1, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, value); // A == value ? next : skip one
    insn(2, BPF_RET | BPF_K, 0, 0, 0); // drop
    insn(3, BPF_RET | BPF_K, 0, 0, 0xffffffff); // keep all of it
    // The kernel copies the program during setsockopt: native memory for that call only.
    const native = koffi.alloc('uint8_t', program.length);
    try {
      koffi.encode(native, koffi.array('uint8_t', program.length), [...program]);
      // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (64-bit layout)
      const fprog = Buffer.alloc(16);
      fprog.writeUInt16LE(4, 0);
      fprog.writeBigUInt64LE(BigInt(koffi.address(native)), 8);
      if (libc().setsockopt(this.fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, fprog.length) < 0) fail('setsockopt(SO_ATTACH_FILTER)');
    } finally {
      koffi.free(native);
    }
  }

  private setOpt(level: number, name: number, value: number, what: string): void {
    if (libc().setsockopt(this.fd, level, name, int32(value), 4) < 0) fail(`setsockopt(${what})`);
  }

  /** One datagram to the kernel; the kernel has processed it when this returns. */
  send(buf: Buffer): void {
    if (this.closed) throw new NetlinkError(9, 'send on closed netlink socket');
    for (;;) {
      const n = libc().send(this.fd, buf, buf.length, 0);
      if (n >= 0) return;
      const e = koffi.errno();
      if (e !== EINTR) throw new NetlinkError(e, 'send(netlink)');
    }
  }

  /**
   * The same on a koffi worker thread: the event loop runs while the kernel
   * works through a large batch. `buf` must not change until this settles.
   * koffi hands the worker's errno to the callback's thread, so errors stay typed.
   */
  sendAsync(buf: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new NetlinkError(9, 'send on closed netlink socket'));
    return new Promise<void>((resolve, reject) => {
      const attempt = (): void => {
        libc().send.async(this.fd, buf, buf.length, 0, (err, n) => {
          if (err) return reject(err instanceof Error ? err : new Error(String(err)));
          if (n >= 0) return resolve();
          const e = koffi.errno();
          if (e === EINTR) return attempt();
          reject(new NetlinkError(e, 'send(netlink)'));
        });
      };
      attempt();
    });
  }

  /**
   * The next datagram, or null when none is queued. The returned view is valid
   * until the next recv. Overflow of the receive queue surfaces as ENOBUFS.
   */
  recv(): Buffer | null {
    if (this.closed) throw new NetlinkError(9, 'recv on closed netlink socket');
    for (;;) {
      const n = libc().recv(this.fd, this.rx, this.rx.length, MSG_DONTWAIT | MSG_TRUNC);
      if (n >= 0) {
        if (n > this.rx.length) throw new NetlinkError(90, `netlink datagram of ${n} bytes truncated`);
        return this.rx.subarray(0, n);
      }
      const e = koffi.errno();
      if (e === EAGAIN) return null;
      if (e !== EINTR) throw new NetlinkError(e, 'recv(netlink)');
    }
  }

  /**
   * Resolves when a datagram is queued (libuv poll on the fd), rejects with
   * ETIMEDOUT; without a timeout it waits as long as it takes (a watcher), and
   * holds no timer that would keep the process alive.
   */
  readable(timeoutMs: number | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer =
        timeoutMs === null
          ? null
          : setTimeout(() => {
              this.poll?.stop();
              reject(new NetlinkError(ETIMEDOUT, `no netlink reply within ${timeoutMs} ms`));
            }, timeoutMs);
      const done = (status: number): void => {
        if (timer !== null) clearTimeout(timer);
        this.poll?.stop();
        if (status < 0) reject(new NetlinkError(-status, 'poll(netlink)'));
        else resolve();
      };
      if (this.poll) this.poll.start({ readable: true }, done);
      else this.poll = koffi.node.poll(this.fd, { readable: true }, done as never) as unknown as PollHandle;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll?.close();
    this.poll = null;
    libc().close(this.fd);
  }
}

function socketInNetns(c: Libc, name: string, protocol: number): number {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new NetlinkError(22, `netns name ${JSON.stringify(name)}`);
  const target = fs.openSync(`/run/netns/${name}`, 'r');
  const home = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    if (c.setns(target, CLONE_NEWNET) < 0) fail(`setns(${name})`);
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    const err = fd < 0 ? koffi.errno() : 0;
    if (c.setns(home, CLONE_NEWNET) < 0) {
      // The main thread would stay in the other namespace: every later socket would go there.
      throw new Error(`cannot return to the original network namespace (errno ${koffi.errno()})`);
    }
    if (fd < 0) throw new NetlinkError(err, `socket(AF_NETLINK) in ${name}`);
    return fd;
  } finally {
    fs.closeSync(target);
    fs.closeSync(home);
  }
}
