import { describe, expect, it } from 'vitest';
import {
  parseGetReply, parseSetReply, serializeGet, serializeSet, lastHandshake,
  UapiErrnoError, UapiProtocolError,
} from '#wg/index';

const K1 = 'a'.repeat(64);
const K2 = 'b'.repeat(64);
const K3 = 'c'.repeat(64);

// As wireguard-go 0.0.20220316 answers get=1 (lab-facts §2).
const GET_FIXTURE = [
  `private_key=${K1}`,
  'listen_port=51820',
  'fwmark=51',
  `public_key=${K2}`,
  `preshared_key=${'0'.repeat(64)}`,
  'protocol_version=1',
  'endpoint=198.18.0.2:51821',
  'last_handshake_time_sec=1795675871',
  'last_handshake_time_nsec=303340361',
  'tx_bytes=1616',
  'rx_bytes=1524',
  'persistent_keepalive_interval=25',
  'allowed_ip=0.0.0.0/0',
  'allowed_ip=::/0',
  `public_key=${K3}`,
  `preshared_key=${'0'.repeat(64)}`,
  'protocol_version=1',
  'last_handshake_time_sec=0',
  'last_handshake_time_nsec=0',
  'tx_bytes=0',
  'rx_bytes=0',
  'persistent_keepalive_interval=0',
  'some_future_key=1',
  'errno=0',
  '',
  '',
].join('\n');

describe('UAPI text codec', () => {
  it('parses a get reply: device keys, then one record per public_key', () => {
    const dev = parseGetReply(GET_FIXTURE);
    expect(dev).toEqual({
      privateKey: K1,
      listenPort: 51820,
      fwmark: 51,
      peers: [
        {
          publicKey: K2, endpoint: '198.18.0.2:51821', protocolVersion: 1,
          lastHandshakeTimeSec: 1795675871, lastHandshakeTimeNsec: 303340361,
          txBytes: 1616, rxBytes: 1524, persistentKeepaliveInterval: 25,
          allowedIps: ['0.0.0.0/0', '::/0'],
        },
        {
          publicKey: K3, endpoint: null, protocolVersion: 1, lastHandshakeTimeSec: 0, lastHandshakeTimeNsec: 0,
          txBytes: 0, rxBytes: 0, persistentKeepaliveInterval: 0, allowedIps: [],
        },
      ],
    });
    expect(lastHandshake(dev.peers[0]!)?.toISOString()).toBe(new Date(1795675871303).toISOString());
    expect(lastHandshake(dev.peers[1]!)).toBeNull();
  });

  it('a fresh device: no private key, fwmark omitted means 0, no peers', () => {
    expect(parseGetReply('listen_port=0\nerrno=0\n\n')).toEqual({ privateKey: null, listenPort: 0, fwmark: 0, peers: [] });
  });

  it('a non-zero errno is a typed error carrying it', () => {
    try {
      parseSetReply('errno=-22\n\n', 'wg0');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UapiErrnoError);
      expect((e as UapiErrnoError).errno).toBe(-22);
      expect((e as UapiErrnoError).ifname).toBe('wg0');
    }
    expect(() => parseGetReply('errno=-2\n\n')).toThrow(UapiErrnoError);
    expect(() => parseSetReply('errno=0\n\n')).not.toThrow();
  });

  it('malformed replies are protocol errors', () => {
    for (const bad of ['', 'errno=0\n', 'listen_port=1\n\n', 'listen_port=x\nerrno=0\n\n', 'junk\nerrno=0\n\n']) {
      expect(() => parseGetReply(bad)).toThrow(UapiProtocolError);
    }
    expect(() => parseSetReply('listen_port=1\nerrno=0\n\n')).toThrow(UapiProtocolError);
  });

  it('serializes requests: set=1, lines in order, blank line', () => {
    expect(serializeGet()).toBe('get=1\n\n');
    expect(serializeSet([['listen_port', '51820'], ['public_key', K2], ['allowed_ip', '::/0']]))
      .toBe(`set=1\nlisten_port=51820\npublic_key=${K2}\nallowed_ip=::/0\n\n`);
    expect(() => serializeSet([['endpoint', '1.2.3.4:5\nremove=true']])).toThrow(UapiProtocolError);
    expect(() => serializeSet([['bad key', '1']])).toThrow(UapiProtocolError);
  });
});
