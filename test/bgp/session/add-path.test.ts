/** RFC 7911 §4/§5: the ADD-PATH capability we send and what it negotiates per family and direction. */
import { describe, expect, it } from 'vitest';
import { buildOpen, checkOpen } from '#bgp/session/open';
import { negotiatedContext } from '#bgp/wire/index';
import { MessageType } from '#bgp/wire/types';
import type { Capability, OpenMessage } from '#bgp/wire/types';
import { config } from './helpers.js';

const ADDR = { localAddress: '10.0.0.1', remoteAddress: '10.0.0.2' };
const base = config({
  name: 'p',
  localAsn: 65001,
  routerId: '192.0.2.1',
  peerAsn: 65002,
  holdTime: 90,
  families: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
});

function peerOpen(extra: Capability[] = []): OpenMessage {
  return {
    type: MessageType.Open,
    version: 4,
    myAs: 65002,
    holdTime: 180,
    bgpId: '192.0.2.2',
    capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 1, afi: 2, safi: 1 }, { code: 65, asn: 65002 }, ...extra],
  };
}

describe('RFC 7911 ADD-PATH negotiation', () => {
  it('§4: sent per family with the Send/Receive bits configured, only when one is on', () => {
    expect(buildOpen(base).capabilities.some((c) => c.code === 69)).toBe(false);
    expect(buildOpen({ ...base, addPath: { receive: false, send: false } }).capabilities.some((c) => c.code === 69)).toBe(false);
    expect(buildOpen({ ...base, addPath: { receive: true, send: false } }).capabilities).toContainEqual({
      code: 69,
      families: [
        { afi: 1, safi: 1, receive: true, send: false },
        { afi: 2, safi: 1, receive: true, send: false },
      ],
    });
  });

  it('§5: we receive where we said receive and the peer send; we send where we said send and the peer receive', () => {
    const ours = { ...base, addPath: { receive: true, send: true } };
    const peer = peerOpen([
      {
        code: 69,
        families: [
          { afi: 1, safi: 1, receive: false, send: true },
          { afi: 2, safi: 1, receive: true, send: false },
        ],
      },
    ]);
    const r = checkOpen(ours, peer, ADDR);
    expect(r.ok && r.negotiated.addPath).toEqual({ receive: { ipv4: true, ipv6: false }, send: { ipv4: false, ipv6: true } });
    // The codec context made from the two OPENs says the same.
    expect(negotiatedContext(buildOpen(ours), peer).addPath).toEqual({ receive: { ipv4: true, ipv6: false }, send: { ipv4: false, ipv6: true } });
  });

  it('§5: nothing when the peer sent no capability, or only for a direction we did not ask', () => {
    expect(checkOpen({ ...base, addPath: { receive: true, send: false } }, peerOpen(), ADDR)).toMatchObject({ ok: true });
    const none = checkOpen({ ...base, addPath: { receive: true, send: false } }, peerOpen(), ADDR);
    expect(none.ok && none.negotiated.addPath).toBeUndefined();
    const onlyReceive = checkOpen({ ...base, addPath: { receive: true, send: false } }, peerOpen([{ code: 69, families: [{ afi: 1, safi: 1, receive: true, send: false }] }]), ADDR);
    expect(onlyReceive.ok && onlyReceive.negotiated.addPath).toBeUndefined();
    // A family the session did not negotiate (the peer lacks multiprotocol IPv6) gets none.
    const v4only: OpenMessage = { ...peerOpen([{ code: 69, families: [{ afi: 2, safi: 1, receive: true, send: true }] }]), capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 65, asn: 65002 }, { code: 69, families: [{ afi: 2, safi: 1, receive: true, send: true }] }] };
    const r = checkOpen({ ...base, addPath: { receive: true, send: true } }, v4only, ADDR);
    expect(r.ok && r.negotiated.addPath).toBeUndefined();
  });
});
