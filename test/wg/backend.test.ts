import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LinkInfo, LinkOps } from '#netlink/types';
import { silentLogger } from '#lib/log';
import { decodeKey, generatePrivateKey, publicKeyOf, WgInterfaceConflictError, WgStartError, WireguardGoBackend, inotifyHint, type TunnelSpec } from '#wg/index';

/** LinkOps over a fixed set of names; every write fails the test. */
function fakeLinks(names: string[]): LinkOps {
  const info = (name: string): LinkInfo => ({ index: 7, name, up: true, mtu: 1420 });
  const write = async (): Promise<void> => {
    throw new Error('unexpected write');
  };
  return {
    link: async (n) => (names.includes(n) ? info(n) : null),
    links: async () => names.map(info),
    linkSetUp: write, linkDelete: write, linkSetAddrGenModeNone: write, linkSetMtu: write, addressAdd: write, addressDelete: write,
    addresses: async () => [],
  };
}

describe('wireguard-go backend without a dataplane', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgbgp-wgunit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const spec: TunnelSpec = {
    name: 'x', interface: 'wgunit0', privateKey: decodeKey(generatePrivateKey()),
    peerPublicKey: publicKeyOf(generatePrivateKey()), endpoint: null, listenPort: null, persistentKeepalive: 0, mtu: 1420,
    addresses: [], peerAddresses: [], sourceAddress: null,
  };
  const backend = (names: string[], binary = 'wireguard-go'): WireguardGoBackend =>
    new WireguardGoBackend({ links: fakeLinks(names), log: silentLogger(), binary, runDir: join(dir, 'run'), stateDir: join(dir, 'state') });

  it('a binary that cannot run is a WgStartError naming it', async () => {
    await expect(backend([], join(dir, 'no-such-wireguard-go')).ensure(spec, null)).rejects.toThrow(WgStartError);
  });

  it('refuses to take over a link that no wireguard-go serves', async () => {
    await expect(backend(['wgunit0']).ensure(spec, null)).rejects.toThrow(WgInterfaceConflictError);
  });

  it('reports nothing for tunnels that do not exist', async () => {
    expect(await backend([]).status(spec)).toBeNull();
    expect(await backend(['wgunit0']).status(spec)).toBeNull();
    expect(await backend(['wgunit0']).list()).toEqual([]);
    expect(await backend([]).pid('wgunit0')).toBeNull();
  });
});

describe('wireguard-go start failures say why', () => {
  it('issue 12: "too many open files" on the UAPI socket is the host\'s inotify instance limit, named with its value and the fix', async () => {
    const log = 'ERROR: (wg93) 2026/12/06 16:53:49 Failed to listen on uapi socket: too many open files';
    const limit = readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8').trim();
    expect(await inotifyHint(log)).toBe(
      ` (each wireguard-go tunnel takes one inotify instance and fs.inotify.max_user_instances is ${limit}: raise it, e.g. sysctl -w fs.inotify.max_user_instances=1024; docs/operations.md)`,
    );
    expect(await inotifyHint('ERROR: Failed to create TUN device: operation not permitted')).toBe('');
  });
});
