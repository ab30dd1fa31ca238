import koffi from 'koffi';

/**
 * systemd Type=notify readiness (sd_notify(3)): one datagram to $NOTIFY_SOCKET.
 * Node has no AF_UNIX datagram sockets, so libc is called through koffi.
 * Without $NOTIFY_SOCKET (not under systemd) this does nothing.
 */
export function sdNotify(state: string): boolean {
  const path = process.env.NOTIFY_SOCKET;
  if (!path) return false;
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int, int, int)');
  const sendto = libc.func('long sendto(int, const void *, size_t, int, const void *, uint32_t)');
  const close = libc.func('int close(int)');
  const AF_UNIX = 1;
  const SOCK_DGRAM_CLOEXEC = 2 | 0o2000000;
  // struct sockaddr_un: sa_family_t (u16) + path; '@' means the abstract namespace.
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path);
  const addr = Buffer.alloc(2 + name.length + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  const fd = socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0) as number;
  if (fd < 0) return false;
  try {
    const msg = Buffer.from(state);
    const len = path.startsWith('@') ? 2 + name.length : addr.length;
    return (sendto(fd, msg, msg.length, 0, addr, len) as number) >= 0;
  } finally {
    close(fd);
  }
}
