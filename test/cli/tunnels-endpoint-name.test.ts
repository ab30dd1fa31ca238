/** `wgbgp tunnels` with an endpoint given as a DNS name (issue 12): the name, and why it does not resolve. */
import { describe, expect, it } from 'vitest';
import type { TunnelJson } from '#api/types';
import { formatTunnels } from '#cli/format';

const NOW = new Date('2025-01-01T12:00:00Z');
const T: TunnelJson = {
  name: 'site-b',
  interface: 'wg-site-b',
  dataplaneInterface: 'wg-site-b',
  publicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
  endpoint: '198.51.100.2:51820',
  latestHandshake: '2025-01-01T11:59:48Z',
  up: true,
  rxBytes: null,
  txBytes: null,
  endpointName: 'site-b.vpn.example:51820',
  endpointError: null,
};

describe('tunnels: endpoints given as DNS names', () => {
  it('a resolved name: the address in the table, the name under it', () => {
    const lines = formatTunnels([T], NOW).trimEnd().split('\n');
    expect(lines[1]!.split(/\s{2,}/)[3]).toBe('198.51.100.2:51820');
    expect(lines[2]).toBe('site-b: endpoint site-b.vpn.example:51820');
  });

  it('an unresolved name: said so in the table, with the last error under it', () => {
    const t = { ...T, endpoint: null, latestHandshake: null, up: false, endpointError: 'getaddrinfo ENOTFOUND site-b.vpn.example' };
    const lines = formatTunnels([t], NOW).trimEnd().split('\n');
    expect(lines[1]!.split(/\s{2,}/)[3]).toBe('(site-b.vpn.example:51820 unresolved)');
    expect(lines[2]).toBe('site-b: endpoint site-b.vpn.example:51820, does not resolve: getaddrinfo ENOTFOUND site-b.vpn.example');
  });

  it('IP literal endpoints add no line', () => {
    expect(formatTunnels([{ ...T, endpointName: null }], NOW).trimEnd().split('\n')).toHaveLength(2);
  });
});
