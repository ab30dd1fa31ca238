/**
 * What the kernel dropped before a segment reached a BGP socket, from
 * /proc/net/netstat (TcpExt) of the agent's namespace: GTSM drops (RFC 5082)
 * and TCP MD5 failures (RFC 2385). They never reach the agent as connections,
 * so only the kernel can count them.
 */
import { readFileSync } from 'node:fs';
import { formatIp } from '#lib/prefix';
import { normalizeAddress } from './address.js';

export interface KernelTcpDrops {
  /** TCPMinTTLDrop: segments below the GTSM minimum TTL. */
  ttlSecurity: number;
  /** TCPMD5NotFound + TCPMD5Unexpected + TCPMD5Failure: missing, unexpected or wrong signatures. */
  md5: number;
}

export function kernelTcpDrops(file = '/proc/net/netstat'): KernelTcpDrops | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    if (names[0] !== 'TcpExt:') continue;
    const get = (name: string): number => {
      const k = names.indexOf(name);
      return k < 0 ? 0 : Number(values[k] ?? 0) || 0;
    };
    return { ttlSecurity: get('TCPMinTTLDrop'), md5: get('TCPMD5NotFound') + get('TCPMD5Unexpected') + get('TCPMD5Failure') };
  }
  return null;
}

/** TCP_SYN_RECV in /proc/net/tcp{,6}: a handshake answered (SYN-ACK sent) and not yet completed. */
const SYN_RECV = '03';

/**
 * Handshakes a listener of this namespace has answered and whose final ACK
 * has not arrived, to local `port` (and `localAddress`, when given), from
 * /proc/net/tcp and /proc/net/tcp6. The kernel lists them there (its request
 * sockets), nowhere a listening socket's options could tell.
 */
export function pendingHandshakes(port: number, localAddress: string | null = null, files = ['/proc/net/tcp', '/proc/net/tcp6']): number {
  let n = 0;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== SYN_RECV || f[1] === undefined) continue;
      const [addr, hexPort] = f[1].split(':');
      if (addr === undefined || hexPort === undefined || parseInt(hexPort, 16) !== port) continue;
      if (localAddress !== null && procAddress(addr) !== localAddress) continue;
      n++;
    }
  }
  return n;
}

/**
 * An address as /proc/net/tcp prints it: 32-bit words in hex, each in host
 * byte order (little-endian on the x86_64 and arm64 hosts wgbgp runs on),
 * normalized as the listener keys its neighbors (v4-mapped as IPv4).
 */
function procAddress(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let w = 0; w < hex.length / 8; w++) {
    const word = parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    for (let i = 0; i < 4; i++) bytes[w * 4 + i] = (word >>> (8 * i)) & 0xff;
  }
  return normalizeAddress(formatIp(bytes));
}
