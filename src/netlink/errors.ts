/**
 * Typed netlink errors. The kernel answers with a negative errno; callers
 * branch on the name ('EEXIST', 'ENETUNREACH'), so the name is the error's
 * `code` like Node's own system errors. Numbers are Linux asm-generic (the
 * same on x86_64 and arm64).
 */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  24: 'EMFILE',
  28: 'ENOSPC',
  34: 'ERANGE',
  61: 'ENODATA',
  71: 'EPROTO',
  90: 'EMSGSIZE',
  93: 'EPROTONOSUPPORT',
  95: 'EOPNOTSUPP',
  97: 'EAFNOSUPPORT',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
  113: 'EHOSTUNREACH',
};

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process (no such route)',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'out of memory',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  ENODEV: 'no such device',
  EINVAL: 'invalid argument',
  EMSGSIZE: 'message too long',
  EOPNOTSUPP: 'operation not supported',
  EAFNOSUPPORT: 'address family not supported',
  EADDRNOTAVAIL: 'cannot assign requested address',
  ENETDOWN: 'network is down',
  ENETUNREACH: 'network is unreachable',
  ENOBUFS: 'no buffer space available',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'no route to host',
};

export const ENOENT = 2;
export const ESRCH = 3;
export const EAGAIN = 11;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EMSGSIZE = 90;
export const ENOBUFS = 105;
export const ETIMEDOUT = 110;

export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return ERRNO_NAMES[n] ?? `E${n}`;
}

/** 'ENETUNREACH (network is unreachable)': the name callers match on, and words for people. */
export function errnoText(errno: number): string {
  const code = errnoName(errno);
  const text = ERRNO_TEXT[code];
  return text ? `${code} (${text})` : code;
}

/** An errno from the kernel (an NLMSG_ERROR ack or a failed socket call). */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /** The errno name, e.g. 'EEXIST'. */
  readonly code: string;
  /** Positive errno. */
  readonly errno: number;

  constructor(errno: number, context: string, kernelMessage?: string) {
    const code = errnoName(errno);
    const text = kernelMessage ?? ERRNO_TEXT[code] ?? 'error';
    super(`${context}: ${code} (${text})`);
    this.code = code;
    this.errno = Math.abs(errno);
  }
}

/** A reply the codec cannot read: truncated, misaligned or of an unexpected type. */
export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
}
