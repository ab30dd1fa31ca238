import type { Config } from './types.js';

export type ResolvedWireguardBackend = 'kernel' | 'wireguard-go' | 'vpp';

/**
 * design.md: `auto` means VPP's WireGuard when routes go to VPP (tunnels must live
 * where the FIB forwards), else the kernel module when present, else wireguard-go.
 */
export function resolveWireguardBackend(config: Config, hasKernelWireguard: boolean): ResolvedWireguardBackend {
  const wanted = config.dataplane.wireguard;
  if (wanted !== 'auto') return wanted;
  if (config.dataplane.fib === 'vpp') return 'vpp';
  return hasKernelWireguard ? 'kernel' : 'wireguard-go';
}
