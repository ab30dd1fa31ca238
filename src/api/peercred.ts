/**
 * Who is on the other end of a control connection: the kernel's record of the
 * connecting process (SO_PEERCRED, and SO_PEERGROUPS for its supplementary
 * groups, Linux 4.13+), taken when it connected. The control socket's file
 * mode decides who may connect at all; these decide who may change things.
 */
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import koffi from 'koffi';
import { libc, socketFd as fdOf } from '#lib/libc';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERGROUPS = 59;
const ERANGE = 34;

export interface PeerCredentials {
  pid: number;
  uid: number;
  /** Primary group and supplementary groups. */
  gids: number[];
}

/** null when the kernel cannot tell (not a unix socket, or the handle is gone). */
export function peerCredentials(socket: Socket): PeerCredentials | null {
  const fd = fdOf(socket);
  if (fd === null) return null;
  const c = libc();
  const cred = Buffer.alloc(12);
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, [12]) < 0) return null;
  const pid = cred.readInt32LE(0);
  const uid = cred.readUInt32LE(4);
  const gids = new Set([cred.readUInt32LE(8)]);
  for (const g of peerGroups(fd)) gids.add(g);
  return { pid, uid, gids: [...gids] };
}

function peerGroups(fd: number): number[] {
  const c = libc();
  for (let size = 64 * 4; size <= 65536 * 4; size *= 16) {
    const buf = Buffer.alloc(size);
    const len = [size];
    if (c.getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buf, len) === 0) {
      const out: number[] = [];
      for (let off = 0; off + 4 <= (len[0] ?? 0); off += 4) out.push(buf.readUInt32LE(off));
      return out;
    }
    if (koffi.errno() !== ERANGE) return [];
  }
  return [];
}

/**
 * A group as the configuration names it: a number, or a name from
 * /etc/group (null when there is no such group here).
 */
export function resolveGroup(group: string | number, groupFile = '/etc/group'): number | null {
  if (typeof group === 'number') return group;
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}
