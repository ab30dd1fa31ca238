/**
 * Changes of the moment towards a neighbor that reads slowly (issue 10): while
 * more than BACKLOG_HIGH waits in its socket, the agent makes no UPDATEs for
 * it and remembers which prefixes changed; once the socket has drained they
 * go from the Loc-RIB as it is then, each once (RFC 4271 §9.2). The other
 * neighbors are not held up; a session going down drops what was owed.
 */
import { describe, expect, it } from 'vitest';
import type { PathAttributes, UpdateMessage } from '#bgp/wire/types';
import { isEndOfRib } from '#bgp/rib/index';
import { BACKLOG_HIGH, CHANGE_STEP, TABLE_STEP } from '#agent/table-send';
import { announce, config, harness, neighbor, withdraw } from './harness.js';
import type { ScriptedSession } from './harness.js';

/** A receiver's table folded from the UPDATEs it was sent (IPv4 classic fields). */
function tableOf(updates: readonly UpdateMessage[]): Map<string, PathAttributes> {
  const t = new Map<string, PathAttributes>();
  for (const u of updates) {
    for (const p of u.withdrawn) t.delete(p);
    for (const p of u.nlri) t.set(p, u.attributes);
  }
  return t;
}

/** An UPDATE from neighbor b (AS 65004) with AS_PATH 65004 and `extra` more ASes after it. */
function fromB(prefixes: string[], extra: number): UpdateMessage {
  const asns = [65004, ...Array.from({ length: extra }, () => 65010)];
  return { ...announce(prefixes), attributes: { origin: 0, asPath: [{ type: 2, asns }], nextHop: '10.255.2.1' } };
}

async function threePeers() {
  const h = await harness(config([neighbor('a', 1), neighbor('b', 2), neighbor('c', 3)]));
  const [a, b, c] = ['a', 'b', 'c'].map((n) => h.sessions.get(n)!) as [ScriptedSession, ScriptedSession, ScriptedSession];
  for (const s of [a, b, c]) s.establish();
  await h.tick(100);
  return { h, a, b, c };
}

describe('changes towards a slow reader', () => {
  it('RFC 4271 §9.2: behind, it is sent nothing; drained, each prefix once as it is now, nothing for one that came and went; c keeps up meanwhile', async () => {
    const { h, a, b, c } = await threePeers();
    a.updatesSent.length = 0;
    a.sendBacklog = BACKLOG_HIGH + 1;
    const prefixes = ['10.2.0.0/24', '10.2.1.0/24', '10.2.2.0/24'];
    for (let round = 0; round < 10; round++) {
      b.update(fromB(prefixes, round % 3));
      await h.tick(20);
    }
    b.update(withdraw(['10.2.2.0/24']));
    await h.tick(20);
    expect(a.updatesSent).toEqual([]);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue).toEqual({ octets: BACKLOG_HIGH + 1, behind: true, owedPrefixes: 3, timesBehind: 1 });
    // c, whose socket is empty, was sent every change.
    expect(c.updatesSent.filter((u) => u.nlri.includes('10.2.0.0/24')).length).toBe(10);
    expect(h.agent.neighbors().find((n) => n.name === 'c')!.sendQueue).toEqual({ octets: 0, behind: false, owedPrefixes: 0, timesBehind: 0 });
    a.drain();
    await h.tick(20);
    // 10.2.2.0/24 came and went while behind: a was never sent it, so nothing goes for it.
    expect(a.updatesSent.flatMap((u) => u.nlri).sort()).toEqual(['10.2.0.0/24', '10.2.1.0/24']);
    expect(a.updatesSent.flatMap((u) => u.withdrawn)).toEqual([]);
    // Once, as the last round left it (no extra AS), our AS prepended.
    expect(a.updatesSent).toHaveLength(1);
    expect(a.updatesSent[0]!.attributes.asPath).toEqual([{ type: 2, asns: [65001, 65004] }]);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue).toMatchObject({ behind: false, owedPrefixes: 0, timesBehind: 1 });
    // Keeping up again: the next change goes at once.
    a.updatesSent.length = 0;
    b.update(withdraw(['10.2.1.0/24']));
    await h.tick(20);
    expect(a.updatesSent.flatMap((u) => u.withdrawn)).toEqual(['10.2.1.0/24']);
  });

  it('a prefix a was sent and that went while a was behind is withdrawn once it drains', async () => {
    const { h, a, b } = await threePeers();
    b.update(fromB(['10.2.0.0/24'], 0));
    await h.tick(20);
    expect(a.updatesSent.flatMap((u) => u.nlri)).toContain('10.2.0.0/24');
    a.sendBacklog = BACKLOG_HIGH + 1;
    a.updatesSent.length = 0;
    b.update(fromB(['10.2.0.0/24'], 1));
    b.update(withdraw(['10.2.0.0/24']));
    await h.tick(20);
    expect(a.updatesSent).toEqual([]);
    a.drain();
    await h.tick(20);
    expect(a.updatesSent.flatMap((u) => u.withdrawn)).toEqual(['10.2.0.0/24']);
    expect(a.updatesSent.flatMap((u) => u.nlri)).toEqual([]);
  });

  it('a batch larger than CHANGE_STEP: that many prefixes at once, the rest a TABLE_STEP at a time with the event loop turning, then a is caught up', async () => {
    const { h, a, b } = await threePeers();
    const table = Array.from({ length: CHANGE_STEP + 100 }, (_, i) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`);
    a.updatesSent.length = 0;
    const perCall: number[] = [];
    const send = a.sendMany.bind(a);
    a.sendMany = (updates) => {
      perCall.push(updates.reduce((n, u) => n + u.nlri.length, 0));
      send(updates);
    };
    // One batch: every UPDATE before the agent's flush.
    for (let i = 0; i < table.length; i += 1000) b.update(fromB(table.slice(i, i + 1000), 0));
    await h.tick(100);
    // CHANGE_STEP prefixes at once, then the rest as a catch-up step.
    expect(perCall).toEqual([CHANGE_STEP, 100]);
    expect(Math.max(...perCall)).toBeGreaterThan(TABLE_STEP);
    const got = tableOf(a.updatesSent);
    expect(got.size).toBe(table.length);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue).toMatchObject({ behind: false, owedPrefixes: 0, timesBehind: 0 });
  });

  it('session down while behind: what was owed is dropped; the next session gets the whole table and keeps up', async () => {
    const { h, a, b } = await threePeers();
    a.sendBacklog = BACKLOG_HIGH + 1;
    b.update(fromB(['10.2.0.0/24'], 0));
    await h.tick(20);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue!.owedPrefixes).toBe(1);
    a.lost({ notification: true });
    await h.tick(20);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue).toMatchObject({ behind: false, owedPrefixes: 0 });
    a.drain();
    a.updatesSent.length = 0;
    a.establish();
    await h.tick(100);
    const t = tableOf(a.updatesSent);
    expect([...t.keys()].sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    b.update(fromB(['10.2.1.0/24'], 0));
    await h.tick(20);
    expect(tableOf(a.updatesSent).has('10.2.1.0/24')).toBe(true);
  });

  it('comes up behind: the table waits for the drain, changes meanwhile are owed; then the table, its End-of-RIBs, and the latest state of every prefix', async () => {
    const h = await harness(config([neighbor('a', 1), neighbor('b', 2)]));
    const a = h.sessions.get('a')!;
    const b = h.sessions.get('b')!;
    b.establish();
    await h.tick(100);
    b.update(fromB(['10.2.0.0/24', '10.2.1.0/24'], 0));
    await h.tick(20);
    a.sendBacklog = BACKLOG_HIGH + 1;
    a.establish();
    await h.tick(20);
    // The table's first step waits for the socket too.
    expect(a.updatesSent).toEqual([]);
    b.update(fromB(['10.2.0.0/24'], 2));
    b.update(withdraw(['10.2.1.0/24']));
    b.update(fromB(['10.2.2.0/24'], 1));
    await h.tick(20);
    expect(a.updatesSent).toEqual([]);
    // 10.2.1.0/24 was never sent to a and is gone: nothing is owed for it.
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue).toMatchObject({ behind: true, owedPrefixes: 2 });
    a.drain();
    await h.tick(20);
    const t = tableOf(a.updatesSent);
    expect([...t.keys()].sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.2.2.0/24']);
    expect(t.get('10.2.0.0/24')!.asPath).toEqual([{ type: 2, asns: [65001, 65004, 65010, 65010] }]);
    expect(t.get('10.2.2.0/24')!.asPath).toEqual([{ type: 2, asns: [65001, 65004, 65010] }]);
    // The table and the catch-up each find what the other sent current: every prefix once.
    expect(a.updatesSent.flatMap((u) => u.nlri).sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.2.2.0/24']);
    expect(a.updatesSent.filter((u) => isEndOfRib(u) !== null)).toHaveLength(2);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue).toMatchObject({ behind: false, owedPrefixes: 0 });
  });

  it('RFC 4724 §4.2: a prefix that appeared behind the table\'s steps while the neighbor was behind goes before its End-of-RIB', async () => {
    const h = await harness(config([neighbor('a', 1), neighbor('b', 2)]));
    const a = h.sessions.get('a')!;
    const b = h.sessions.get('b')!;
    b.establish();
    await h.tick(100);
    const many = Array.from({ length: TABLE_STEP + 1000 }, (_, i) => `10.${20 + (i >> 8)}.${i & 255}.0/24`);
    b.update(fromB(many, 0));
    await h.tick(20);
    // Its number is free while the table's first step goes, and is taken again behind it.
    const late = many[5]!;
    b.update(withdraw([late]));
    await h.tick(20);
    a.establish();
    // The first step went at once; the socket is full before the next.
    expect(a.updatesSent.length).toBeGreaterThan(0);
    a.sendBacklog = BACKLOG_HIGH + 1;
    b.update(fromB([late], 1));
    await h.tick(20);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.sendQueue).toMatchObject({ behind: true, owedPrefixes: 1 });
    a.drain();
    await h.tick(20);
    const at = a.updatesSent.findIndex((u) => u.nlri.includes(late));
    const eor = a.updatesSent.findIndex((u) => isEndOfRib(u) !== null);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(eor).toBeGreaterThan(at);
    expect(a.updatesSent.slice(eor).every((u) => isEndOfRib(u) !== null)).toBe(true);
    expect(tableOf(a.updatesSent).size).toBe(many.length + 1);
  });

  it('RFC 2918 §4 while behind: the answer is the Adj-RIB-Out as sent, the owed changes follow it; the end state is the Loc-RIB', async () => {
    const { h, a, b } = await threePeers();
    b.update(fromB(['10.2.0.0/24', '10.2.1.0/24'], 0));
    await h.tick(20);
    a.sendBacklog = BACKLOG_HIGH + 1;
    b.update(fromB(['10.2.0.0/24'], 1));
    b.update(withdraw(['10.2.1.0/24']));
    await h.tick(20);
    const before = a.updatesSent.length;
    a.handler.onRouteRefresh!(1, 1, 0);
    await h.tick(20);
    expect(a.updatesSent.length).toBe(before);
    a.drain();
    await h.tick(20);
    const t = tableOf(a.updatesSent);
    expect([...t.keys()].sort()).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(t.get('10.2.0.0/24')!.asPath).toEqual([{ type: 2, asns: [65001, 65004, 65010] }]);
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.routeRefresh).toMatchObject({ received: 1, answered: 1 });
  });
});
