import { existsSync } from 'node:fs';

/** Whether this kernel has WireGuard (the module loaded, or built in). */
export function kernelWireguardPresent(sysModule = '/sys/module/wireguard'): boolean {
  return existsSync(sysModule);
}
