/**
 * What the kernel dropped before a segment reached a BGP socket, from
 * /proc/net/netstat (TcpExt) of the agent's namespace: GTSM drops (RFC 5082)
 * and TCP MD5 failures (RFC 2385). They never reach the agent as connections,
 * so only the kernel can count them.
 */
import { readFileSync } from 'node:fs';

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
