/**
 * Policies at the agent (src/agent/policy.ts): chains compiled per neighbor
 * when its session comes up, `routes PREFIX` saying which term rejected a
 * path, RFC 8212 in `neighbors`, and a reload that changes a policy applied
 * to the running session: re-export of the differences, re-evaluation from
 * the pre-policy copies (soft reconfiguration inbound) or a ROUTE-REFRESH
 * (RFC 2918) — never a session reset.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { UpdateMessage } from '#bgp/wire/types';
import type { Config, NeighborConfig, PolicyDefinitions } from '#config/types';
import type { Logger } from '#lib/log';
import { announce, config, harness, neighbor } from './harness.js';

const DEFS: PolicyDefinitions = {
  prefixLists: { hidden: [{ prefix: '10.9.0.0/16', ge: 16, le: 32 }] },
  asPathLists: {},
  asSets: {},
  communityLists: {},
  policies: {
    'in-v1': { terms: [{ name: 'no-hidden', match: { prefixList: ['hidden'] }, set: {}, action: 'reject' }], default: 'accept' },
    'in-v2': { terms: [{ name: 'prefer', match: {}, set: { localPref: 300 }, action: 'accept' }], default: 'next' },
    'out-v1': { terms: [{ name: 'all', match: {}, set: { prepend: { as: 'own', count: 1 } }, action: 'accept' }], default: 'next' },
    'out-v2': { terms: [{ name: 'tag', match: {}, set: { community: { add: ['65001:0:9'], remove: [], replace: null } }, action: 'accept' }], default: 'next' },
  },
};

/** The neighbors of every configuration below (their keys are made once: a new key would rebuild the tunnel). */
const A = neighbor('a', 1);
const B = neighbor('b', 2);

function withBgp(n: NeighborConfig, over: Partial<NonNullable<NeighborConfig['bgp']>>): NeighborConfig {
  return { ...n, bgp: { ...n.bgp!, ...over } };
}

function withPolicy(soft: boolean, imp = ['in-v1'], exp = ['out-v1'], requirePolicy = false): Config {
  return { ...config([withBgp(A, { import: imp, softReconfigurationInbound: soft }), withBgp(B, { export: exp })]), policy: DEFS, requirePolicy };
}

function announced(updates: readonly UpdateMessage[]): string[] {
  return updates.flatMap((u) => [...u.nlri, ...(u.mpReach?.nlri ?? [])]);
}

async function up(cfg: Config, log?: Logger) {
  const h = await harness(cfg, log);
  const a = h.sessions.get('a')!;
  const b = h.sessions.get('b')!;
  a.establish();
  b.establish();
  a.update(announce(['10.20.0.0/24', '10.9.1.0/24']));
  await h.tick(100);
  return { h, a, b };
}

async function reload(h: Awaited<ReturnType<typeof up>>['h'], cfg: Config): Promise<void> {
  h.next.config = cfg;
  const r = await h.agent.reload();
  expect(r.ok).toBe(true);
  // Policies are applied to the running sessions: nothing rebuilt.
  expect(r.changed).toEqual([]);
  await h.tick(100);
}

const bgpRoutes = (h: Awaited<ReturnType<typeof up>>['h']): string[] =>
  (h.agent.routes() as { prefix: string; source: string }[])
    .filter((r) => r.source === 'bgp')
    .map((r) => r.prefix)
    .sort();

describe('policies at the agent', () => {
  it('import policy from the config, compiled when the session comes up', async () => {
    const { h } = await up(withPolicy(false));
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24']);
    const a = h.agent.neighbors().find((n) => n.name === 'a')!;
    expect(a).toMatchObject({ prefixesReceived: 2, prefixesAccepted: 1 });
    expect(a.policy).toEqual({ import: ['in-v1'], export: [], softReconfigurationInbound: false, note: null });
  });

  it('a path rejected by policy next to an accepted one: ineligible, reason policy, the term named', async () => {
    const { h, b } = await up(withPolicy(false));
    // The same prefix from b (no import policy) makes it a Loc-RIB route with a's path ineligible.
    b.update({ ...announce(['10.9.1.0/24']), attributes: { origin: 0, asPath: [{ type: 2, asns: [65004] }], nextHop: '10.255.2.1' } });
    await h.tick(100);
    const paths = (await h.agent.routes('10.9.1.0/24'))[0]!.paths!;
    const fromA = paths.find((p) => p.neighbor?.name === 'a')!;
    expect(fromA).toMatchObject({ eligible: false, ineligibleReason: 'policy', rejectedBy: 'in-v1/no-hidden' });
  });

  it('routes PREFIX for a prefix whose only path policy rejected: the path and why, not nothing', async () => {
    const { h } = await up(withPolicy(false));
    const [r] = await h.agent.routes('10.9.1.0/24');
    expect(r).toMatchObject({ prefix: '10.9.1.0/24', fib: false, neighbor: null, decision: null });
    expect(r!.fibDetail).toMatch(/no path is eligible/);
    expect(r!.paths).toHaveLength(1);
    expect(r!.paths![0]).toMatchObject({ neighbor: { name: 'a' }, eligible: false, ineligibleReason: 'policy', rejectedBy: 'in-v1/no-hidden' });
    // An address lookup still finds routes only.
    expect(await h.agent.routes('10.9.1.1')).toEqual([]);
  });

  it('RFC 8212: with bgp.require-policy an eBGP neighbor without an import policy accepts nothing, and neighbors says so', async () => {
    const cfg = withPolicy(false, [], ['out-v1'], true);
    const { h } = await up(cfg);
    expect(bgpRoutes(h)).toEqual([]);
    const a = h.agent.neighbors().find((n) => n.name === 'a')!;
    expect(a.prefixesReceived).toBe(2);
    expect(a.prefixesAccepted).toBe(0);
    expect(a.policy).toEqual({ import: [], export: [], softReconfigurationInbound: false, note: 'bgp.require-policy (RFC 8212): accepts nothing (no import policy) and is sent nothing (no export policy)' });
  });

  it('export policy change on reload: the differences are sent, the session stays up', async () => {
    const { h, b } = await up(withPolicy(false));
    const first = b.updatesSent.filter((u) => u.nlri.includes('10.20.0.0/24'));
    expect(first.at(-1)!.attributes.asPath).toEqual([{ type: 2, asns: [65001, 65001, 65003] }]);
    b.updatesSent.length = 0;
    await reload(h, withPolicy(false, ['in-v1'], ['out-v2']));
    expect(b.state).toBe('Established');
    expect(b.ceases).toEqual([]);
    expect(announced(b.updatesSent).sort()).toEqual(['10.1.0.0/24', '10.20.0.0/24']);
    const now = b.updatesSent.find((u) => u.nlri.includes('10.20.0.0/24'))!;
    expect(now.attributes.asPath).toEqual([{ type: 2, asns: [65001, 65003] }]);
    expect(now.attributes.largeCommunities).toEqual([[65001, 0, 9]]);
  });

  it('import policy change with soft reconfiguration inbound: evaluated again at once, no ROUTE-REFRESH, no reset', async () => {
    const { h, a } = await up(withPolicy(true));
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24']);
    await reload(h, withPolicy(true, ['in-v2']));
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24', '10.9.1.0/24']);
    expect(h.fib.table.has('10.9.1.0/24')).toBe(true);
    expect((await h.agent.routes('10.9.1.0/24'))[0]!.paths![0]!.localPref).toBe(300);
    expect(a.refreshes).toEqual([]);
    expect(a.state).toBe('Established');
    expect(a.ceases).toEqual([]);
    // And back: rejected again, from the copies.
    await reload(h, withPolicy(true, ['in-v1']));
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24']);
    expect(h.fib.table.has('10.9.1.0/24')).toBe(false);
  });

  it('import policy change without soft reconfiguration: ROUTE-REFRESH per negotiated family (RFC 2918 §3), then the resent routes are judged anew', async () => {
    const { h, a } = await up(withPolicy(false));
    await reload(h, withPolicy(false, ['in-v2']));
    expect(a.refreshes.map((r) => [r.afi, r.subtype])).toEqual([
      [1, 0],
      [2, 0],
    ]);
    expect(a.state).toBe('Established');
    expect(a.ceases).toEqual([]);
    // Until the peer answers, nothing changes; its answer goes through the new policy.
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24']);
    a.update(announce(['10.20.0.0/24', '10.9.1.0/24']));
    await h.tick(100);
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24', '10.9.1.0/24']);
  });

  it('a policy changed on reload is the one the next session compiles, and the one neighbors shows (found by interop/openbgpd-policy.test.ts)', async () => {
    const { h, a } = await up(withPolicy(false));
    await reload(h, withPolicy(false, ['in-v2']));
    expect(h.agent.neighbors().find((n) => n.name === 'a')!.policy).toMatchObject({ import: ['in-v2'] });
    // The peer never answers the ROUTE-REFRESH (OpenBGPD 7.7); a new session brings its routes again.
    a.received(6, 4, new Uint8Array(), '6/4 Administrative Reset');
    await h.tick(100);
    a.establish();
    a.update(announce(['10.20.0.0/24', '10.9.1.0/24']));
    await h.tick(100);
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24', '10.9.1.0/24']);
    expect((await h.agent.routes('10.9.1.0/24'))[0]!.paths![0]!.localPref).toBe(300);
  });

  it('a peer without route refresh and no soft reconfiguration: a warning that says how to apply it, never a reset', async () => {
    const lines: { msg: string; neighbor?: string }[] = [];
    const log: Logger = pino({ level: 'info' }, { write: (t: string) => void lines.push(JSON.parse(t) as { msg: string }) });
    const h = await harness(withPolicy(false), log);
    const a = h.sessions.get('a')!;
    a.establish({ routeRefresh: false });
    h.sessions.get('b')!.establish();
    a.update(announce(['10.20.0.0/24', '10.9.1.0/24']));
    await h.tick(100);
    await reload(h, withPolicy(false, ['in-v2']));
    expect(a.refreshes).toEqual([]);
    expect(a.state).toBe('Established');
    expect(a.ceases).toEqual([]);
    const warning = lines.find((l) => l.neighbor === 'a' && l.msg.includes('cannot refresh'));
    expect(warning?.msg).toMatch(/new UPDATEs only, until `wgbgp neighbor a reset`/);
    // The new policy applies to what the peer sends next.
    a.update(announce(['10.9.1.0/24']));
    await h.tick(100);
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24', '10.9.1.0/24']);
  });
});

describe('reload --dry-run', () => {
  it('says per neighbor what the new policies would accept, reject, send and stop sending; applies nothing', async () => {
    const { h, a, b } = await up(withPolicy(true));
    h.next.config = withPolicy(true, ['in-v2'], []);
    const r = await h.agent.reloadDryRun();
    expect(r).toMatchObject({ ok: true, added: [], removed: [], changed: [] });
    const na = r.neighbors.find((n) => n.name === 'a')!;
    expect(na.import).toEqual({ changed: true, acceptedNow: 1, accept: 2, reject: 0, exact: true });
    const nb = r.neighbors.find((n) => n.name === 'b')!;
    // b: our own 10.1.0.0/24 and a's 10.20.0.0/24 are sent; without an export chain (and no require-policy) both stay.
    expect(nb.export).toEqual({ changed: true, advertisedNow: 2, send: 0, stop: 0, total: 2 });
    // Nothing was applied.
    expect(bgpRoutes(h)).toEqual(['10.20.0.0/24']);
    expect(a.refreshes).toEqual([]);
    h.next.config = withPolicy(true, ['in-v1'], ['out-v1'], true);
    const strict = await h.agent.reloadDryRun();
    // RFC 8212: with require-policy, a without an export chain would be sent nothing.
    expect(strict.neighbors.find((n) => n.name === 'a')!.export).toMatchObject({ changed: true, stop: 1, total: 0 });
    expect(b.ceases).toEqual([]);
  });

  it('a configuration a reload would reject: ok false with its errors', async () => {
    const { h } = await up(withPolicy(false));
    h.next.config = { ...withPolicy(false), router: { asn: 65009, routerId: '192.0.2.1' } };
    const r = await h.agent.reloadDryRun();
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual(['router.asn: cannot change on reload; restart the agent']);
  });
});

describe('announce with communities', () => {
  it('our route carries them; a change on reload sends it again with the new ones, no reset', async () => {
    const cfg = (c: string[]): Config => ({ ...config([A, B]), announceCommunities: { '10.1.0.0/24': c } });
    const h = await harness(cfg(['65001:7']));
    const b = h.sessions.get('b')!;
    b.establish();
    await h.tick(100);
    const sent = (): UpdateMessage | undefined => b.updatesSent.filter((u) => u.nlri.includes('10.1.0.0/24')).at(-1);
    expect(sent()!.attributes.communities).toEqual([65001 * 65536 + 7]);
    b.updatesSent.length = 0;
    h.next.config = cfg(['65001:0:8']);
    expect((await h.agent.reload()).ok).toBe(true);
    await h.tick(100);
    expect(sent()!.attributes.communities).toBeUndefined();
    expect(sent()!.attributes.largeCommunities).toEqual([[65001, 0, 8]]);
    expect(b.ceases).toEqual([]);
  });
});
