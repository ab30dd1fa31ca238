/**
 * The kernel WireGuard's generic netlink codec (src/wg/genl.ts) against
 * golden bytes written by hand from include/uapi/linux/wireguard.h and
 * linux/genetlink.h (test/vectors/wireguard/*.hex, a comment per field), and
 * against an independent implementation's nlmon captures of the real kernel
 * (rust-netlink/netlink-packet-wireguard's tests): the module is absent on
 * this host, so no live kernel is asked.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NlWriter, splitMessages } from '#netlink/codec';
import {
  NLA_F_NESTED,
  WGDEVICE_F_REPLACE_PEERS,
  WGPEER_F_REMOVE_ME,
  WGPEER_F_REPLACE_ALLOWEDIPS,
  WGPEER_F_UPDATE_ONLY,
  decodeFamilyId,
  decodeWgDevice,
  encodeGetFamily,
  encodeWgGetDevice,
  encodeWgSetDevice,
  endpointText,
  mergeWgDevice,
  type WgDeviceState,
} from '#wg/genl';
import { deviceSetOf, uapiDeviceOf } from '#wg/kernel';
import { keyToHex, uapiChanges, type TunnelSpec } from '#wg/index';

function vector(name: string): Buffer {
  const text = readFileSync(new URL(`../vectors/wireguard/${name}`, import.meta.url), 'utf8');
  return Buffer.from(
    text
      .split('\n')
      .map((l) => l.replace(/#.*$/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
}

const seqBytes = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => n + i);
const FAMILY = 0x15;

describe('generic netlink controller (linux/genetlink.h)', () => {
  it('CTRL_CMD_GETFAMILY "wireguard" encodes to the hand-written bytes', () => {
    const w = new NlWriter();
    encodeGetFamily(w, 1, 'wireguard');
    expect(w.bytes().toString('hex')).toBe(vector('ctrl-getfamily.hex').toString('hex'));
  });

  it('the family id comes from CTRL_ATTR_FAMILY_ID of CTRL_CMD_NEWFAMILY', () => {
    const [reply, ack] = splitMessages(vector('ctrl-newfamily.hex'));
    expect(reply!.type).toBe(0x10);
    expect(decodeFamilyId(reply!.body)).toBe(0x15);
    expect(ack!.type).toBe(2);
  });
});

describe('wireguard.h: WG_CMD_GET_DEVICE', () => {
  it('the request, as `wg` sends it (independent nlmon capture, genlmsghdr and attributes)', () => {
    const w = new NlWriter();
    encodeWgGetDevice(w, FAMILY, 9, 'cn');
    expect(w.bytes().subarray(16).toString('hex')).toBe(vector('wg-get-device-request-nlmon.hex').toString('hex'));
    // nlmsghdr: the family id as type, NLM_F_REQUEST|NLM_F_ACK|NLM_F_DUMP.
    expect(w.bytes().readUInt16LE(4)).toBe(FAMILY);
    expect(w.bytes().readUInt16LE(6)).toBe(0x305);
  });

  it('the request for wg0, whole message, to the hand-written bytes', () => {
    const w = new NlWriter();
    encodeWgGetDevice(w, FAMILY, 2, 'wg0');
    expect(w.bytes().toString('hex')).toBe(vector('wg-get-device.hex').toString('hex'));
  });

  it("the kernel's answer (independent nlmon capture): device, peer, timespec, counters, sockaddr_in, allowed IP; NLA_F_NESTED masked", () => {
    const d = decodeWgDevice(vector('wg-get-device-reply-nlmon.hex'));
    expect(d).toMatchObject({ ifindex: 3, ifname: 'cn', listenPort: 32812, fwmark: 0 });
    expect([...d.privateKey!]).toEqual([...seqBytes(0)]);
    expect(Buffer.from(d.publicKey!).toString('hex')).toBe('ccaf10e1a9d7d05ff2bdd2a0f1782d97469a1cf7be880f6875a779935d1d2175');
    expect(d.peers).toHaveLength(1);
    const p = d.peers[0]!;
    expect(Buffer.from(p.publicKey).toString('hex')).toBe('77dc9ac0b3f0c5e75bb8d3422d88ec92d13a3423229087821551571969dea044');
    expect(p).toMatchObject({
      lastHandshakeSec: 1769415834,
      lastHandshakeNsec: 262671874,
      persistentKeepalive: 25,
      txBytes: 1917056,
      rxBytes: 30426264,
      protocolVersion: 1,
    });
    expect(endpointText(p.endpoint!)).toBe('1.1.1.1:1111');
    expect(p.allowedIps.map((a) => `${[...a.address].join('.')}/${a.cidr}`)).toEqual(['0.0.0.0/0']);
    // In the planner's model: keys in hex, the endpoint as text, the handshake for lastHandshake().
    expect(uapiDeviceOf(d).peers[0]).toMatchObject({ endpoint: '1.1.1.1:1111', allowedIps: ['0.0.0.0/0'], lastHandshakeTimeSec: 1769415834 });
  });

  it('a fresh device (hand-written): no key, port 0, no peers; the dump ends with NLMSG_DONE', () => {
    const [m, done] = splitMessages(vector('wg-get-device-new.hex'));
    const d = decodeWgDevice(m!.body);
    expect(d).toEqual({ ifindex: 7, ifname: 'wg0', privateKey: null, publicKey: null, listenPort: 0, fwmark: 0, peers: [] });
    expect(done!.type).toBe(3);
    expect(uapiDeviceOf(d)).toEqual({ privateKey: null, listenPort: 0, fwmark: 0, peers: [] });
  });

  it('wireguard.h: a peer split across messages (its allowed IPs continued) is one peer', () => {
    const peer = (ips: number[]) => ({
      publicKey: seqBytes(0x20),
      endpoint: null,
      persistentKeepalive: 0,
      lastHandshakeSec: 0,
      lastHandshakeNsec: 0,
      rxBytes: 0,
      txBytes: 0,
      protocolVersion: 1,
      allowedIps: ips.map((i) => ({ address: Uint8Array.from([10, i, 0, 0]), cidr: 16 })),
    });
    const base: WgDeviceState = { ifindex: 7, ifname: 'wg0', privateKey: null, publicKey: null, listenPort: 0, fwmark: 0, peers: [] };
    const merged = mergeWgDevice([{ ...base, peers: [peer([1, 2])] }, { ...base, peers: [peer([3])] }]);
    expect(merged!.peers).toHaveLength(1);
    expect(merged!.peers[0]!.allowedIps.map((a) => a.address[1])).toEqual([1, 2, 3]);
  });
});

describe('wireguard.h: WG_CMD_SET_DEVICE', () => {
  const spec: TunnelSpec = {
    name: 'b',
    interface: 'wg0',
    privateKey: seqBytes(0),
    peerPublicKey: Buffer.from(seqBytes(0x20)).toString('base64'),
    endpoint: '198.18.0.2:51820',
    listenPort: 51821,
    persistentKeepalive: 25,
    mtu: 1420,
    addresses: [],
    peerAddresses: [],
    sourceAddress: null,
  };

  it('a new tunnel: the UAPI plan of a fresh device as one message, to the hand-written bytes', () => {
    const lines = uapiChanges({ privateKey: null, listenPort: 0, fwmark: 0, peers: [] }, spec, null, { resolvedEndpoint: spec.endpoint, nowSec: 0 });
    const w = new NlWriter();
    encodeWgSetDevice(w, FAMILY, 3, deviceSetOf('wg0', lines));
    expect(w.bytes().toString('hex')).toBe(vector('wg-set-device-new.hex').toString('hex'));
  });

  it("key rotation: the old peer goes with the device's WGDEVICE_F_REPLACE_PEERS, the new one comes with the old one's endpoint", () => {
    const old = { ...spec, peerPublicKey: Buffer.from(seqBytes(0x40)).toString('base64') };
    const dev = uapiDeviceOf({
      ifindex: 7,
      ifname: 'wg0',
      privateKey: seqBytes(0),
      publicKey: null,
      listenPort: 51821,
      fwmark: 0,
      peers: [
        {
          publicKey: seqBytes(0x40),
          endpoint: { address: Uint8Array.from([203, 0, 113, 7]), port: 40000 },
          persistentKeepalive: 25,
          lastHandshakeSec: 1000,
          lastHandshakeNsec: 0,
          rxBytes: 0,
          txBytes: 0,
          protocolVersion: 1,
          allowedIps: [],
        },
      ],
    });
    const set = deviceSetOf('wg0', uapiChanges(dev, spec, old, { resolvedEndpoint: spec.endpoint, nowSec: 1010 }));
    expect(set.flags).toBe(WGDEVICE_F_REPLACE_PEERS);
    expect(set.privateKey).toBeUndefined();
    expect(set.peers).toHaveLength(1);
    expect(Buffer.from(set.peers[0]!.publicKey).toString('hex')).toBe(keyToHex(spec.peerPublicKey));
    expect(set.peers[0]!.flags).toBe(WGPEER_F_REPLACE_ALLOWEDIPS);
    expect(endpointText(set.peers[0]!.endpoint!)).toBe('203.0.113.7:40000');
  });

  it('a stray peer is removed (WGPEER_F_REMOVE_ME); ours is changed with WGPEER_F_UPDATE_ONLY', () => {
    const lines = [
      ['public_key', keyToHex(Buffer.from(seqBytes(0x40)).toString('base64'))],
      ['remove', 'true'],
      ['public_key', keyToHex(spec.peerPublicKey)],
      ['update_only', 'true'],
      ['persistent_keepalive_interval', '10'],
    ] as const;
    const set = deviceSetOf('wg0', lines.map(([k, v]) => [k, v] as [string, string]));
    expect(set.peers.map((p) => p.flags)).toEqual([WGPEER_F_REMOVE_ME, WGPEER_F_UPDATE_ONLY]);
    const w = new NlWriter();
    encodeWgSetDevice(w, FAMILY, 4, set);
    const body = w.bytes().subarray(16);
    // IFNAME (8 bytes) after the genlmsghdr, then the peers nest with NLA_F_NESTED.
    expect(body.readUInt16LE(4 + 8 + 2)).toBe(8 | NLA_F_NESTED);
  });

  it('an IPv6 endpoint is a struct sockaddr_in6 (28 bytes: family, port, flowinfo, address, scope id)', () => {
    const set = deviceSetOf('wg0', [['public_key', keyToHex(spec.peerPublicKey)], ['endpoint', '[2001:db8::2]:51820']]);
    const w = new NlWriter();
    encodeWgSetDevice(w, FAMILY, 5, set);
    const hex = w.bytes().toString('hex');
    // nla_len 32, WGPEER_A_ENDPOINT; AF_INET6 10; port 51820; flowinfo 0; 2001:db8::2; scope 0.
    expect(hex).toContain('200004000a00ca6c0000000020010db8000000000000000000000002' + '00000000');
  });
});
