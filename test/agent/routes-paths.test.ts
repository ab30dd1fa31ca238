/**
 * `wgbgp routes PREFIX --json` at the agent: every path of the prefix with its
 * neighbor, attributes and eligibility, and the step of RFC 4271 §9.1.2.2
 * that chose the best over the runner-up (GoBGP's best path reason).
 */
import { describe, expect, it } from 'vitest';
import { MessageType, type PathAttributes, type UpdateMessage } from '#bgp/wire/types';
import { extendedCommunityText } from '#agent/routes-view';
import { config, harness, neighbor } from './harness.js';

function update(prefix: string, attributes: PathAttributes): UpdateMessage {
  return { type: MessageType.Update, withdrawn: [], attributes: { origin: 0, ...attributes }, nlri: [prefix] };
}

describe('Agent: routes PREFIX lists every path and the deciding step', () => {
  it('RFC 4271 §9.1.2.2 a: of two paths from two neighbors the shorter AS_PATH wins, and the answer says so and over which path', async () => {
    const h = await harness(config([neighbor('a', 1), neighbor('b', 2)]));
    h.sessions.get('a')!.establish();
    h.sessions.get('b')!.establish();
    h.sessions.get('a')!.update(
      update('10.9.0.0/24', { asPath: [{ type: 2, asns: [65003, 65010] }], nextHop: '10.255.1.1', med: 5, communities: [(65003 << 16) + 100] }),
    );
    h.sessions.get('b')!.update(
      update('10.9.0.0/24', {
        asPath: [{ type: 2, asns: [65004] }],
        nextHop: '10.255.2.1',
        extendedCommunities: [[0x00020000 + 65004, 7]],
        largeCommunities: [[65004, 1, 2]],
      }),
    );
    await h.tick(1_000);

    const [r] = await h.agent.routes('10.9.0.0/24');
    expect(r).toEqual({
      prefix: '10.9.0.0/24',
      source: 'bgp',
      stale: null,
      neighbor: 'b',
      asPath: [65004],
      nexthops: [{ address: '10.255.2.1', interface: 'wg-b' }],
      fib: true,
      fibDetail: null,
      paths: [
        {
          neighbor: { name: 'b', address: '10.255.2.1', asn: 65004, routerId: '192.0.2.2' },
          source: 'bgp',
          origin: 'igp',
          asPath: [65004],
          asPathLength: 1,
          nexthops: ['10.255.2.1'],
          localPref: null,
          med: null,
          communities: [],
          extendedCommunities: ['rt:65004:7'],
          largeCommunities: ['65004:1:2'],
          otc: null,
          stale: null,
          best: true,
          eligible: true,
          multipath: false,
          ineligibleReason: null,
        },
        {
          neighbor: { name: 'a', address: '10.255.1.1', asn: 65003, routerId: '192.0.2.2' },
          source: 'bgp',
          origin: 'igp',
          asPath: [65003, 65010],
          asPathLength: 2,
          nexthops: ['10.255.1.1'],
          localPref: null,
          med: 5,
          communities: ['65003:100'],
          extendedCommunities: [],
          largeCommunities: [],
          otc: null,
          stale: null,
          best: false,
          eligible: true,
          multipath: false,
          ineligibleReason: null,
        },
      ],
      decision: { step: 'as-path-length', against: { neighbor: 'a', source: 'bgp' } },
    });
    // The table without a PREFIX stays as it was: no paths, no decision.
    const all = await h.agent.routes();
    expect(all.find((x) => x.prefix === '10.9.0.0/24')).not.toHaveProperty('paths');
    await h.agent.stop();
  });

  it('RFC 4271 §9.1.2: a path with our AS in its AS_PATH is listed as not eligible (as-path-loop); the other is the only path', async () => {
    const h = await harness(config([neighbor('a', 1), neighbor('b', 2)]));
    h.sessions.get('a')!.establish();
    h.sessions.get('b')!.establish();
    h.sessions.get('a')!.update(update('10.9.0.0/24', { asPath: [{ type: 2, asns: [65003, 65001] }], nextHop: '10.255.1.1' }));
    h.sessions.get('b')!.update(update('10.9.0.0/24', { asPath: [{ type: 2, asns: [65004, 65020] }], nextHop: '10.255.2.1' }));
    await h.tick(1_000);

    // An ADDRESS finds the prefix by longest match and gets the same answer.
    const [r] = await h.agent.routes('10.9.0.7');
    expect(r?.decision).toEqual({ step: 'only-path', against: null });
    expect(r?.paths?.map((p) => [p.neighbor?.name, p.best, p.eligible, p.ineligibleReason, p.asPathLength])).toEqual([
      ['b', true, true, null, 2],
      ['a', false, false, 'as-path-loop', 2],
    ]);
    await h.agent.stop();
  });
});

describe('extended communities as text (RFC 4360 §5, RFC 5668)', () => {
  it('route target and route origin of the three global administrator types; anything else as hex', () => {
    expect(extendedCommunityText([0x00020000 + 65004, 7])).toBe('rt:65004:7');
    expect(extendedCommunityText([0x40030000 + 65004, 70000])).toBe('soo:65004:70000');
    expect(extendedCommunityText([0x0102c000, 0x02010064])).toBe('rt:192.0.2.1:100');
    expect(extendedCommunityText([0x02020003, 0x0d400005])).toBe('rt:200000:5');
    expect(extendedCommunityText([0x80060000, 0])).toBe('0x8006000000000000');
  });
});
