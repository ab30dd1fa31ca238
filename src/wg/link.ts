/**
 * The Linux side of a tunnel interface, the same for every backend that has
 * one in the agent's namespace (wireguard-go's tun, the kernel's wireguard
 * link): no kernel-made link-local, the MTU, exactly the spec's addresses, up.
 */
import type { Logger } from '#lib/log';
import type { LinkOps } from '#netlink/types';
import { formatPrefix, isLinkLocalV6, parsePrefix } from '#lib/prefix';
import type { TunnelSpec } from './types.js';

/** "10.255.0.0/31" → canonical text keeping the host bits, for comparing address lists. */
function normalizeCidr(s: string): string {
  const p = parsePrefix(s, true);
  return p ? formatPrefix(p) : s;
}

function isLinkLocalCidr(s: string): boolean {
  const p = parsePrefix(s, true);
  return p !== null && isLinkLocalV6(p.bytes);
}

/** addrgenmode none before up, the MTU, exactly spec.addresses, then up. Returns whether anything changed. */
export async function convergeLink(links: LinkOps, spec: TunnelSpec, log: Logger): Promise<boolean> {
  const ifname = spec.interface;
  const link = await links.link(ifname);
  if (link === null) throw new Error(`${ifname}: the link vanished while being configured`);
  let changed = false;
  const want = new Map(spec.addresses.map((a) => [normalizeCidr(a), a]));
  const have = (await links.addresses(ifname)).map(normalizeCidr);
  const foreignLinkLocal = have.some((a) => isLinkLocalCidr(a) && !want.has(a));
  // The kernel gives a new link a random link-local at up unless told not
  // to; a stray one signals the mode was never set (interface adopted).
  if (!link.up || foreignLinkLocal) {
    await links.linkSetAddrGenModeNone(ifname);
    changed = true;
  }
  // In place, also on a live tunnel: wireguard-go follows its tun device's MTU, the kernel's link is the device.
  if (link.mtu !== spec.mtu) {
    await links.linkSetMtu(ifname, spec.mtu);
    log.info({ interface: ifname, mtu: spec.mtu, was: link.mtu }, 'tunnel MTU set');
    changed = true;
  }
  for (const [norm, orig] of want) {
    if (!have.includes(norm)) {
      await links.addressAdd(ifname, orig);
      changed = true;
    }
  }
  for (const a of have) {
    if (!want.has(a)) {
      await links.addressDelete(ifname, a);
      changed = true;
    }
  }
  if (!link.up) await links.linkSetUp(ifname);
  return changed;
}
