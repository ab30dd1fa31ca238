/** RFC 9494 long-lived graceful restart in our OPEN and in what the OPEN exchange settles. */
import { describe, expect, it } from 'vitest';
import { buildOpen, checkOpen } from '#bgp/session/open';
import { MessageType } from '#bgp/wire/types';
import type { Capability, OpenMessage } from '#bgp/wire/types';
import { config } from './helpers.js';

const ADDR = { localAddress: '10.0.0.1', remoteAddress: '10.0.0.2' };
const gracefulRestart = { restartTime: 120, state: () => ({ restarting: false, forwardingState: true }) };
const cfg = config({ name: 'p', localAsn: 65001, routerId: '192.0.2.1', peerAsn: 65002, holdTime: 90, gracefulRestart, longLived: { staleTime: 3600 } });

const GR: Capability = { code: 64, restartState: false, notification: false, restartTime: 0, families: [{ afi: 1, safi: 1, forwardingState: true }] };
const LLGR: Capability = {
  code: 71,
  families: [
    { afi: 1, safi: 1, forwardingState: true, staleTime: 86400 },
    { afi: 1, safi: 128, forwardingState: true, staleTime: 86400 },
  ],
};

function peerOpen(extra: Capability[]): OpenMessage {
  return { type: MessageType.Open, version: 4, myAs: 65002, holdTime: 90, bgpId: '192.0.2.2', capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 65, asn: 65002 }, ...extra] };
}

describe('RFC 9494 long-lived graceful restart in the OPEN exchange', () => {
  it('§3: we send one tuple per family we speak, with our stale time and F as for graceful restart', () => {
    expect(buildOpen(cfg).capabilities).toContainEqual({
      code: 71,
      families: [
        { afi: 1, safi: 1, forwardingState: true, staleTime: 3600 },
        { afi: 2, safi: 1, forwardingState: true, staleTime: 3600 },
      ],
    });
  });

  it('§4.1: not without graceful restart, and not when it is off', () => {
    const { gracefulRestart: _gr, ...noGr } = cfg;
    expect(buildOpen(noGr).capabilities.some((c) => c.code === 71)).toBe(false);
    const { longLived: _ll, ...off } = cfg;
    expect(buildOpen(off).capabilities.some((c) => c.code === 71)).toBe(false);
  });

  it('§3: negotiated with the peer\'s stale time for the families of the session only', () => {
    const r = checkOpen(cfg, peerOpen([GR, LLGR]), ADDR);
    expect(r.ok && r.negotiated.longLived).toEqual([{ afi: 1, safi: 1, forwardingState: true, staleTime: 86400 }]);
  });

  it('§4.1: a long-lived capability without the graceful restart capability is ignored', () => {
    const r = checkOpen(cfg, peerOpen([LLGR]), ADDR);
    expect(r.ok && r.negotiated.longLived).toBeUndefined();
  });

  it('off on our side: the peer\'s capability does not count', () => {
    const { longLived: _ll, ...off } = cfg;
    const r = checkOpen(off, peerOpen([GR, LLGR]), ADDR);
    expect(r.ok && r.negotiated.longLived).toBeUndefined();
  });
});
