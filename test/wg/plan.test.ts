import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeKey, generatePrivateKey, keyToHex, normalizeEndpoint, publicKeyOf, uapiChanges,
  UapiClient, UapiConnectError, UapiErrnoError,
  type TunnelSpec, type UapiDevice, type UapiPeer,
} from '#wg/index';

const priv = generatePrivateKey();
const peer = publicKeyOf(generatePrivateKey());
const other = publicKeyOf(generatePrivateKey());
const NOW = 1_800_000_000;

const spec: TunnelSpec = {
  name: 'b', interface: 'wgb', privateKey: decodeKey(priv), peerPublicKey: peer,
  endpoint: '198.18.0.2:51821', listenPort: 51820, persistentKeepalive: 25, mtu: 1420,
  addresses: [], peerAddresses: [], sourceAddress: null,
};

function peerState(over: Partial<UapiPeer> = {}): UapiPeer {
  return {
    publicKey: keyToHex(peer), endpoint: '198.18.0.2:51821', protocolVersion: 1,
    lastHandshakeTimeSec: NOW - 10, lastHandshakeTimeNsec: 0, rxBytes: 1, txBytes: 1,
    persistentKeepaliveInterval: 25, allowedIps: ['0.0.0.0/0', '::/0'], ...over,
  };
}

const device = (peers: UapiPeer[], over: Partial<UapiDevice> = {}): UapiDevice =>
  ({ privateKey: keyToHex(priv), listenPort: 51820, fwmark: 0, peers, ...over });

const plan = (dev: UapiDevice, s: TunnelSpec, prev: TunnelSpec | null) =>
  uapiChanges(dev, s, prev, { resolvedEndpoint: s.endpoint && normalizeEndpoint(s.endpoint), nowSec: NOW });

describe('UAPI plan: set only what differs', () => {
  it('a fresh device gets key, port and exactly one peer with 0.0.0.0/0 and ::/0', () => {
    expect(plan({ privateKey: null, listenPort: 0, fwmark: 0, peers: [] }, spec, null)).toEqual([
      ['private_key', keyToHex(priv)],
      ['listen_port', '51820'],
      ['public_key', keyToHex(peer)],
      ['endpoint', '198.18.0.2:51821'],
      ['persistent_keepalive_interval', '25'],
      ['replace_allowed_ips', 'true'],
      ['allowed_ip', '0.0.0.0/0'],
      ['allowed_ip', '::/0'],
    ]);
  });

  it('a matching device needs nothing', () => {
    expect(plan(device([peerState()]), spec, spec)).toEqual([]);
    expect(plan(device([peerState()]), spec, null)).toEqual([]);
  });

  it('a different peer key replaces the peers', () => {
    const lines = plan(device([peerState({ publicKey: keyToHex(other) })]), spec, null);
    expect(lines.slice(0, 2)).toEqual([['replace_peers', 'true'], ['public_key', keyToHex(peer)]]);
    expect(lines).toContainEqual(['endpoint', '198.18.0.2:51821']);
  });

  describe('issue 12: the neighbor\'s key rotated (a reload with its new public-key)', () => {
    const old = (over: Partial<UapiPeer> = {}): UapiDevice => device([peerState({ publicKey: keyToHex(other), ...over })]);
    const prev = { ...spec, peerPublicKey: other };

    it('only the peer is swapped: same endpoint, keepalive and allowed IPs; key and port of the device untouched', () => {
      expect(plan(old(), spec, prev)).toEqual([
        ['replace_peers', 'true'],
        ['public_key', keyToHex(peer)],
        ['endpoint', '198.18.0.2:51821'],
        ['persistent_keepalive_interval', '25'],
        ['replace_allowed_ips', 'true'],
        ['allowed_ip', '0.0.0.0/0'],
        ['allowed_ip', '::/0'],
      ]);
    });

    it('remote-access server (no endpoint configured): the endpoint the old peer learned carries over', () => {
      const server = { ...spec, endpoint: null };
      expect(plan(old({ endpoint: '203.0.113.7:40000' }), server, { ...server, peerPublicKey: other })).toContainEqual(['endpoint', '203.0.113.7:40000']);
    });

    it('a roamed endpoint that works carries over; a stale one gives way to the configured endpoint', () => {
      expect(plan(old({ endpoint: '203.0.113.7:40000' }), spec, prev)).toContainEqual(['endpoint', '203.0.113.7:40000']);
      expect(plan(old({ endpoint: '203.0.113.7:40000', lastHandshakeTimeSec: NOW - 600 }), spec, prev)).toContainEqual(['endpoint', '198.18.0.2:51821']);
    });

    it('an endpoint changed in the same reload wins over the old peer\'s', () => {
      const moved = { ...spec, endpoint: '198.18.0.9:51821' };
      expect(plan(old({ endpoint: '203.0.113.7:40000' }), moved, prev)).toContainEqual(['endpoint', '198.18.0.9:51821']);
    });
  });

  it('stray peers are removed one by one; ours keeps its state', () => {
    expect(plan(device([peerState(), peerState({ publicKey: keyToHex(other) })]), spec, spec))
      .toEqual([['public_key', keyToHex(other)], ['remove', 'true']]);
  });

  it('keepalive and allowed IPs converge on the existing peer (update_only)', () => {
    expect(plan(device([peerState({ persistentKeepaliveInterval: 0, allowedIps: ['10.0.0.0/8'] })]), spec, spec)).toEqual([
      ['public_key', keyToHex(peer)], ['update_only', 'true'],
      ['persistent_keepalive_interval', '25'],
      ['replace_allowed_ips', 'true'], ['allowed_ip', '0.0.0.0/0'], ['allowed_ip', '::/0'],
    ]);
  });

  it('a null listen port leaves the dataplane\'s choice alone', () => {
    expect(plan(device([peerState()], { listenPort: 40000 }), { ...spec, listenPort: null }, null)).toEqual([]);
  });

  describe('endpoint (design.md: never overwrite a roamed endpoint with a stale one)', () => {
    const roamed = device([peerState({ endpoint: '198.18.0.7:40000' })]);
    it('kept when the configured endpoint did not change', () => {
      expect(plan(roamed, spec, spec)).toEqual([]);
    });
    it('written when the configured endpoint changed', () => {
      const next = { ...spec, endpoint: '198.18.0.3:51821' };
      expect(plan(roamed, next, spec)).toEqual([['public_key', keyToHex(peer)], ['update_only', 'true'], ['endpoint', '198.18.0.3:51821']]);
    });
    it('written when the dataplane knows none', () => {
      expect(plan(device([peerState({ endpoint: null })]), spec, spec)).toContainEqual(['endpoint', '198.18.0.2:51821']);
    });
    it('adopting (no previous): kept while the handshake is fresh, written when it is stale', () => {
      expect(plan(roamed, spec, null)).toEqual([]);
      const stale = device([peerState({ endpoint: '198.18.0.7:40000', lastHandshakeTimeSec: NOW - 600 })]);
      expect(plan(stale, spec, null)).toContainEqual(['endpoint', '198.18.0.2:51821']);
    });
    it('compares in wireguard-go\'s spelling', () => {
      expect(normalizeEndpoint('[2001:DB8:0::1]:51820')).toBe('[2001:db8::1]:51820');
      expect(normalizeEndpoint('[fe80::1%veth0]:1')).toBe('[fe80::1%veth0]:1');
      expect(normalizeEndpoint('host.example:1')).toBeNull();
      expect(normalizeEndpoint('1.2.3.4:70000')).toBeNull();
      const v6 = { ...spec, endpoint: '[2001:DB8::1]:51821' };
      expect(plan(device([peerState({ endpoint: '[2001:db8::1]:51821' })]), v6, null)).toEqual([]);
    });
  });
});

describe('UapiClient over a unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgbgp-uapi-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sends the request, reads a reply split across chunks, and maps errno', async () => {
    const seen: string[] = [];
    const server = createServer((c) => {
      c.setEncoding('utf8');
      let buf = '';
      c.on('data', (d: string) => {
        buf += d;
        if (!buf.endsWith('\n\n')) return;
        seen.push(buf);
        if (buf.startsWith('get=1')) {
          c.write('listen_port=5');
          setTimeout(() => c.write('1820\nerrno=0\n'), 5);
          setTimeout(() => c.write('\n'), 10);
        } else {
          c.write('errno=-22\n\n');
        }
      });
    });
    await new Promise<void>((r) => server.listen(join(dir, 'wgx.sock'), r));
    try {
      const client = new UapiClient({ runDir: dir });
      expect((await client.get('wgx')).listenPort).toBe(51820);
      await expect(client.set('wgx', [['listen_port', 'x']])).rejects.toMatchObject({ errno: -22 });
      await expect(client.set('wgx', [])).rejects.toBeInstanceOf(UapiErrnoError);
      expect(seen[1]).toBe('set=1\nlisten_port=x\n\n');
      await expect(client.get('missing')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(client.get('missing')).rejects.toBeInstanceOf(UapiConnectError);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
