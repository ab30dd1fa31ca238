import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '#lib/log';
import { VppApi, WGBGP_OPTIONAL, WGBGP_REQUIRED } from '#vpp/api';
import { toVppAddress, toVppPrefix } from '#vpp/address';
import { VppClient } from '#vpp/client';
import type { VppRecord } from '#vpp/codec';
import { Responder } from './responder.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(): Promise<{ vpp: Responder; api: VppApi }> {
  const vpp = await Responder.start();
  cleanup.push(() => vpp.close());
  const client = await VppClient.connect({ socketPath: vpp.path, log: silentLogger(), required: WGBGP_REQUIRED, optional: WGBGP_OPTIONAL });
  cleanup.push(() => client.close());
  return { vpp, api: new VppApi(client) };
}

const sent = (vpp: Responder, name: string): VppRecord => vpp.received.find((m) => m.name === name)!.values;

describe('VppApi wrappers', () => {
  it('§4.3: a learned route names the peer tunnel address as next hop on the wg interface', async () => {
    const { vpp, api } = await setup();
    vpp.on('ip_route_add_del', (_v, io) => io.answer('ip_route_add_del_reply', { retval: 0, stats_index: 9 }));
    expect(await api.routeAddDel({ tableId: 0, prefix: '2001:db8:1::/48', paths: [{ swIfIndex: 5, nextHop: 'fd00:255::1' }] }, true)).toBe(9);
    expect(sent(vpp, 'ip_route_add_del')).toMatchObject({
      is_add: true,
      is_multipath: false,
      route: {
        prefix: { address: { af: 1 }, len: 48 },
        n_paths: 1,
        paths: [{ sw_if_index: 5, weight: 1, proto: 1, nh: { address: { ip6: Buffer.from('fd000255000000000000000000000001', 'hex') } } }],
      },
    });
  });

  it('reads routes back with canonical prefixes and next hops', async () => {
    const { vpp, api } = await setup();
    vpp.on('ip_route_dump', (_v, io) => {
      io.answer('ip_route_details', {
        route: {
          table_id: 0,
          prefix: toVppPrefix('10.1.0.0/24'),
          paths: [{ sw_if_index: 5, proto: 0, weight: 1, nh: { address: { ip4: Buffer.from([10, 255, 0, 1]) } } }],
        },
      });
      io.answer('ip_route_details', { route: { prefix: toVppPrefix('10.9.0.0/16'), paths: [{ sw_if_index: 2, proto: 0 }] } });
    });
    expect(await api.routes(0, false)).toEqual([
      { tableId: 0, prefix: '10.1.0.0/24', paths: [{ swIfIndex: 5, nextHop: '10.255.0.1', tableId: 0, weight: 1, preference: 0 }] },
      { tableId: 0, prefix: '10.9.0.0/16', paths: [{ swIfIndex: 2, nextHop: null, tableId: 0, weight: 0, preference: 0 }] },
    ]);
  });

  it('§4.2: a peer with no endpoint sends 0.0.0.0 port 0; the dump reports the roamed endpoint', async () => {
    const { vpp, api } = await setup();
    vpp.on('wireguard_peer_add', (_v, io) => io.answer('wireguard_peer_add_reply', { retval: 0, peer_index: 3 }));
    const key = Buffer.alloc(32, 7);
    expect(await api.wireguardPeerAdd({ swIfIndex: 5, publicKey: key, endpoint: null, allowedIps: ['0.0.0.0/0', '::/0'] })).toBe(3);
    expect(sent(vpp, 'wireguard_peer_add')).toMatchObject({
      peer: { port: 0, endpoint: { af: 0, un: { ip4: Buffer.alloc(4) } }, n_allowed_ips: 2, sw_if_index: 5 },
    });
    vpp.on('wireguard_peers_dump', (_v, io) =>
      io.answer('wireguard_peers_details', {
        peer: {
          peer_index: 3,
          public_key: key,
          port: 40000,
          endpoint: toVppAddress('198.51.100.9'),
          sw_if_index: 5,
          flags: 2,
          allowed_ips: [toVppPrefix('0.0.0.0/0'), toVppPrefix('::/0')],
        },
      }),
    );
    expect(await api.wireguardPeers()).toEqual([
      {
        peerIndex: 3,
        swIfIndex: 5,
        publicKey: key,
        endpoint: { address: '198.51.100.9', port: 40000 },
        persistentKeepalive: 0,
        tableId: 0,
        established: true,
        allowedIps: ['0.0.0.0/0', '::/0'],
      },
    ]);
  });

  it('§7.1: linux-cp pairs are listed by walking the cursor', async () => {
    const { vpp, api } = await setup();
    expect(api.hasLinuxCp).toBe(true);
    vpp.on('lcp_itf_pair_get', (v, io) => {
      if (v.cursor === 0) {
        io.answer('lcp_itf_pair_details', { phy_sw_if_index: 5, host_sw_if_index: 6, vif_index: 17, host_if_name: 'wg-a', host_if_type: 1 });
        io.answer('lcp_itf_pair_get_reply', { retval: 0, cursor: 1 });
      } else {
        io.answer('lcp_itf_pair_details', { phy_sw_if_index: 7, host_sw_if_index: 8, vif_index: 18, host_if_name: 'wg-b', host_if_type: 1 });
        io.answer('lcp_itf_pair_get_reply', { retval: 0, cursor: 0xffffffff });
      }
    });
    expect((await api.lcpPairs()).map((p) => p.hostIfName)).toEqual(['wg-a', 'wg-b']);
  });
});
