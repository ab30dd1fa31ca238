/**
 * The VPP API definitions wgbgp speaks, as data: the client and the fake VPP
 * server share them, and test/vpp/crc.test.ts checks every message against the
 * CRC VPP itself advertises (recomputed with vppapigen's algorithm, src/vpp/crc.ts).
 *
 * Field lists and CRCs are those of VPP 25.10 (govpp binapi, generated from
 * 25.10-release, and vppapigen run on the v25.10 .api files agree on all of
 * them). Every one of these CRCs is the same in v22.10 through v26.06 (fact
 * sheet §2), so one set serves all those releases; the connect-time CRC check
 * is what tells an incompatible VPP apart.
 */
import * as ethernetTypes from './ethernet_types.js';
import * as fibTypes from './fib_types.js';
import * as iface from './interface.js';
import * as interfaceTypes from './interface_types.js';
import * as ip from './ip.js';
import * as ipTypes from './ip_types.js';
import * as lcp from './lcp.js';
import * as memclnt from './memclnt.js';
import type { MessageDef, TypeDef } from './types.js';
import * as vpe from './vpe.js';
import * as wireguard from './wireguard.js';

export type { FieldDef, MessageDef, TypeDef } from './types.js';

export const VPP_RELEASE = '25.10';

function byName<T extends { name: string }>(what: string, lists: readonly (readonly T[])[]): ReadonlyMap<string, T> {
  const m = new Map<string, T>();
  for (const list of lists) {
    for (const d of list) {
      if (m.has(d.name)) throw new Error(`duplicate VPP ${what} definition: ${d.name}`);
      m.set(d.name, d);
    }
  }
  return m;
}

export const TYPES: ReadonlyMap<string, TypeDef> = byName('type', [
  ipTypes.TYPES,
  ethernetTypes.TYPES,
  interfaceTypes.TYPES,
  fibTypes.TYPES,
  memclnt.TYPES,
  ip.TYPES,
  wireguard.TYPES,
  lcp.TYPES,
]);

export const MESSAGES: ReadonlyMap<string, MessageDef> = byName('message', [
  memclnt.MESSAGES,
  vpe.MESSAGES,
  iface.MESSAGES,
  ip.MESSAGES,
  wireguard.MESSAGES,
  lcp.MESSAGES,
]);

/** The definition of a message, or an Error naming it (a programming error, not a VPP one). */
export function messageDef(name: string): MessageDef {
  const d = MESSAGES.get(name);
  if (!d) throw new Error(`unknown VPP message: ${name}`);
  return d;
}
