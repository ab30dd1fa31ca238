/**
 * Max-prefix at the agent (`bgp.max-prefix`, RFC 4486 §4): accepted prefixes
 * per family against the limits after each UPDATE; warning logs once and
 * shows it, restart sends Cease/Maximum Number of Prefixes Reached with the
 * family and the limit and reconnects after restart-after minutes (manual
 * clock), or at `enable`.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { decodeMaxPrefixData } from '#bgp/wire/index';
import type { MaxPrefixConfig } from '#config/types';
import type { Logger } from '#lib/log';
import { announce, config, harness, neighbor, withdraw } from './harness.js';

function capture(): { log: Logger; lines: () => { msg: string; level: number; neighbor?: string }[] } {
  const raw: string[] = [];
  const log: Logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => { raw.push(c.toString()); cb(); } }));
  return { log, lines: () => raw.map((l) => JSON.parse(l) as { msg: string; level: number; neighbor?: string }) };
}

const limits = (over: Partial<MaxPrefixConfig>): MaxPrefixConfig => ({ ipv4: null, ipv6: null, action: 'warning', restartAfter: 5, ...over });

describe('Agent: max-prefix, action warning', () => {
  it('above the limit: logged once, shown in neighbors, the session stays; back within: shown no more', async () => {
    const c = capture();
    const h = await harness(config([neighbor('b', 1, { maxPrefix: limits({ ipv4: 2, ipv6: 100 }) })]), c.log);
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(announce(['10.2.0.0/24', '10.3.0.0/24']));
    await h.tick(1_000);
    // The limit itself is allowed (RFC 4486 §4: "exceeds").
    expect(h.agent.neighbors()[0]?.maxPrefix).toEqual({
      action: 'warning',
      restartAfter: null,
      ipv4: { limit: 2, accepted: 2 },
      ipv6: { limit: 100, accepted: 0 },
      exceeded: null,
      restartAt: null,
    });
    s.update(announce(['10.4.0.0/24']));
    s.update(announce(['10.5.0.0/24']));
    await h.tick(1_000);
    expect(s.ceases).toEqual([]);
    expect(s.state).toBe('Established');
    const b = h.agent.neighbors()[0]!;
    expect(b.maxPrefix).toMatchObject({ ipv4: { limit: 2, accepted: 4 }, exceeded: { family: 'ipv4-unicast', limit: 2, accepted: 4, since: '2026-01-01T00:00:01.040Z' } });
    expect(h.fib.table.has('10.5.0.0/24')).toBe(true);
    const warnings = c.lines().filter((l) => l.msg.startsWith('max-prefix: limit exceeded'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, neighbor: 'b' });
    s.update(withdraw(['10.4.0.0/24', '10.5.0.0/24']));
    await h.tick(1_000);
    expect(h.agent.neighbors()[0]?.maxPrefix?.exceeded).toBeNull();
    expect(c.lines().some((l) => l.msg === 'max-prefix: back within the limit')).toBe(true);
    await h.agent.stop();
  });

  it('a reload that changes only max-prefix keeps the session and applies the new limit at once', async () => {
    const b = neighbor('b', 1, { maxPrefix: limits({ ipv4: 10 }) });
    const h = await harness(config([b]));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(announce(['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']));
    await h.tick(1_000);
    h.next.config = config([{ ...b, bgp: { ...b.bgp!, maxPrefix: limits({ ipv4: 2 }) } }]);
    const r = await h.agent.reload();
    expect(r.ok).toBe(true);
    expect(r.changed ?? []).toEqual([]);
    // The same session object: not rebuilt, no Cease; the new limit is already exceeded.
    expect(h.sessions.get('b')).toBe(s);
    expect(s.ceases).toEqual([]);
    expect(h.agent.neighbors()[0]?.maxPrefix).toMatchObject({ ipv4: { limit: 2, accepted: 3 }, exceeded: { limit: 2, accepted: 3 } });
    await h.agent.stop();
  });

  it('no limits: maxPrefix is null and nothing is counted against', async () => {
    const h = await harness(config([neighbor('b', 1)]));
    h.sessions.get('b')!.establish();
    h.sessions.get('b')!.update(announce(['10.2.0.0/24']));
    expect(h.agent.neighbors()[0]?.maxPrefix).toBeNull();
    await h.agent.stop();
  });
});

describe('Agent: max-prefix, action restart (RFC 4486 §4)', () => {
  it('sends Cease/Maximum Number of Prefixes Reached with AFI, SAFI and the limit, withdraws, and reconnects after restart-after minutes', async () => {
    const h = await harness(config([neighbor('b', 1, { maxPrefix: limits({ ipv4: 1000, ipv6: 2, action: 'restart', restartAfter: 3 }) })]));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(announce(['2001:db8:1::/48', '2001:db8:2::/48', '10.2.0.0/24']));
    await h.tick(1_000);
    expect(s.ceases).toEqual([]);
    s.update(announce(['2001:db8:3::/48']));
    await h.tick(1_000);
    expect(s.ceases).toHaveLength(1);
    expect(s.ceases[0]!.subcode).toBe(1);
    expect(decodeMaxPrefixData(s.ceases[0]!.data)).toEqual({ afi: 2, safi: 1, limit: 2 });
    expect(h.fib.table.has('2001:db8:1::/48')).toBe(false);
    const b = h.agent.neighbors()[0]!;
    expect(b).toMatchObject({
      state: 'Idle',
      lastError: 'sent 6/1',
      maxPrefix: {
        action: 'restart',
        restartAfter: 3,
        exceeded: { family: 'ipv6-unicast', limit: 2, accepted: 3 },
        restartAt: '2026-01-01T00:03:01.040Z',
      },
    });
    expect(h.agent.status().neighbors.down).toBe(1);
    // Held down: no start before the three minutes are up, a reset is refused.
    const starts = s.starts;
    await h.tick(170_000);
    expect(s.starts).toBe(starts);
    await expect(h.agent.neighborAction('b', 'reset')).rejects.toThrow('neighbor b is held down by max-prefix: enable it instead');
    await h.tick(10_000);
    expect(s.starts).toBe(starts + 1);
    expect(h.agent.neighbors()[0]?.maxPrefix).toMatchObject({ exceeded: null, restartAt: null });
    await h.agent.stop();
  });

  it('enable ends the hold-down at once; the timer then starts nothing', async () => {
    const h = await harness(config([neighbor('b', 1, { maxPrefix: limits({ ipv4: 1, action: 'restart', restartAfter: 1 }) })]));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(announce(['10.2.0.0/24', '10.3.0.0/24']));
    await h.tick(1_000);
    expect(s.ceases.map((c) => c.subcode)).toEqual([1]);
    const starts = s.starts;
    expect(await h.agent.neighborAction('b', 'enable')).toMatchObject({ changed: true });
    expect(s.starts).toBe(starts + 1);
    await h.tick(120_000);
    expect(s.starts).toBe(starts + 1);
    await h.agent.stop();
  });

  it('a shutdown during the hold-down wins: the end of the hold-down does not start the session', async () => {
    const h = await harness(config([neighbor('b', 1, { maxPrefix: limits({ ipv4: 1, action: 'restart', restartAfter: 1 }) })]));
    const s = h.sessions.get('b')!;
    s.establish();
    s.update(announce(['10.2.0.0/24', '10.3.0.0/24']));
    await h.tick(1_000);
    await h.agent.neighborAction('b', 'shutdown', 'leak under investigation');
    const starts = s.starts;
    await h.tick(120_000);
    expect(s.starts).toBe(starts);
    expect(h.agent.neighbors()[0]).toMatchObject({ adminShutdown: { message: 'leak under investigation' }, maxPrefix: { restartAt: null } });
    await h.agent.stop();
  });
});
