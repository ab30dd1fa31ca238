import { describe, expect, it } from 'vitest';
import { parseConfig, resolveWireguardBackend, type Config } from '#config/index';

function config(dataplane: string): Config {
  const r = parseConfig(
    `router: { asn: 65001, router-id: 192.0.2.1 }\nwireguard: { private-key-file: k, source-address: 192.0.2.1 }\ndataplane: ${dataplane}\n`,
    'wgbgp.yaml',
    { checkFiles: false },
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

describe('resolveWireguardBackend (design.md: auto)', () => {
  it('auto with fib vpp is vpp, whatever the kernel has', () => {
    expect(resolveWireguardBackend(config('{ fib: vpp }'), true)).toBe('vpp');
  });
  it('auto with a Linux FIB is the kernel module when present', () => {
    expect(resolveWireguardBackend(config('{ fib: linux }'), true)).toBe('kernel');
    expect(resolveWireguardBackend(config('{ fib: none }'), true)).toBe('kernel');
  });
  it('auto falls back to wireguard-go without the kernel module', () => {
    expect(resolveWireguardBackend(config('{}'), false)).toBe('wireguard-go');
  });
  it('an explicit choice is kept', () => {
    expect(resolveWireguardBackend(config('{ wireguard: wireguard-go }'), true)).toBe('wireguard-go');
    expect(resolveWireguardBackend(config('{ wireguard: kernel }'), false)).toBe('kernel');
  });
});
