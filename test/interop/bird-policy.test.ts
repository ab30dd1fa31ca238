/**
 * Operator policy against BIRD 2 over real WireGuard (wireguard-go): the
 * agent in A, BIRD in B as in bird.test.ts.
 *
 * - import: a prefix list and a community match set LOCAL_PREF on what BIRD
 *   sends; a prefix outside the list is rejected and `routes PREFIX` says by
 *   which term;
 * - export: our route reaches BIRD prepended and with a large community
 *   (`birdc show route all`);
 * - reload: a new export policy reaches BIRD (the differences only), a new
 *   import policy is applied through a ROUTE-REFRESH (RFC 2918); neither
 *   resets the session (BIRD's "up since" and our established count stay).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_A, LAN_B, birdUpSince, cli, learnedRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { setNeighborPolicies } from './helpers/policy.js';
import { BIRD_PREREQUISITES, birdBgpConfig, birdcAt, birdDiagnostics, createBirdSite, type Bird } from './helpers/bird.js';
import type { ReloadDryRunJson, ReloadJson, RouteJson } from '#api/types';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-policy: skipped: ${skip}`);

/** B's second LAN prefix (no community) and one outside our prefix list. */
const EXTRA_B = '10.2.1.0/24';
const OUTSIDE = '10.3.0.0/24';

const POLICY = {
  bgp: { 'require-policy': true },
  policy: {
    'prefix-lists': { 'b-lans': ['10.2.0.0/16 le 24'] },
    'community-lists': { prefer: ['65002:100'] },
    policies: {
      'from-b': {
        terms: [
          { name: 'prefer', match: { 'prefix-list': 'b-lans', community: 'prefer' }, set: { 'local-pref': 200 }, action: 'accept' },
          { name: 'lans', match: { 'prefix-list': 'b-lans' }, action: 'accept' },
        ],
        default: 'reject',
      },
      'from-b-v2': {
        terms: [{ name: 'prefer', match: { 'prefix-list': 'b-lans', community: 'prefer' }, set: { 'local-pref': 300 }, action: 'accept' }],
        default: 'accept',
      },
      'to-b': { terms: [{ name: 'ours', match: { source: 'static' }, set: { prepend: 2, community: { add: ['65001:0:1'] } }, action: 'accept' }], default: 'reject' },
      'to-b-v2': { terms: [{ name: 'ours', match: { source: 'static' }, set: { community: { add: ['65001:0:2'] } }, action: 'accept' }], default: 'reject' },
    },
  },
};

const birdConfig = (log: string): string =>
  birdBgpConfig(log, {
    protocols: [
      `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; route ${EXTRA_B} via "lan0"; route ${OUTSIDE} via "lan0"; }`,
      `filter to_wgbgp { if source != RTS_STATIC then reject; if net = ${LAN_B.v4} then bgp_community.add((65002, 100)); accept; }`,
    ],
    ipv4: 'import all; export filter to_wgbgp;',
  });

interface PeerView {
  state: string;
  established: number;
  flaps: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  policy: { import: string[]; export: string[]; note: string | null };
  routeRefresh: { sent: number };
}

describe.skipIf(skip !== null)('interop: import and export policy with BIRD 2, changed on reload without a reset', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;

  const birdc = (...args: string[]): string => birdcAt(bird!.ctl, ...args);
  /** BIRD's view of our route: `show route all for`. */
  const birdRoute = (prefix: string): string => birdc('show', 'route', 'all', 'for', prefix, 'table', 'master4');
  const birdSince = (): number => birdUpSince(birdc('show', 'protocols', 'wgbgp'), 'wgbgp');
  const peer = (): PeerView => cli<PeerView>(site!, 'neighbors', 'peer');
  const route = (prefix: string): RouteJson | undefined => cli<RouteJson[]>(site!, 'routes', prefix)[0];
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  const diagnostics = (): string => birdDiagnostics(site, bird);
  /** Our config with the neighbor's chains replaced. */
  const rewrite = (imp: string, exp: string): void => setNeighborPolicies(site!, { import: imp, export: exp });
  let since = NaN;

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('bp', 53, { bgp: { import: 'from-b', export: 'to-b' }, top: POLICY }, birdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('import: prefix list + community match set LOCAL_PREF; outside the list rejected, and routes PREFIX says by which term', async () => {
    await until('Established with B\'s routes at ours', () => peer().state === 'Established' && weHave(LAN_B.v4) && weHave(EXTRA_B), 30_000, diagnostics);
    since = birdSince();
    expect(route(LAN_B.v4)!.paths![0]).toMatchObject({ localPref: 200, communities: ['65002:100'], eligible: true });
    expect(route(EXTRA_B)!.paths![0]).toMatchObject({ localPref: null, eligible: true });
    expect(weHave(OUTSIDE)).toBe(false);
    expect(route(OUTSIDE)!.paths![0]).toMatchObject({ eligible: false, ineligibleReason: 'policy', rejectedBy: 'from-b/default' });
    // RFC 8212 is on, and this neighbor has both chains: nothing to say.
    expect(peer()).toMatchObject({ prefixesReceived: 3, prefixesAccepted: 2, policy: { import: ['from-b'], export: ['to-b'], note: null } });
  }, 40_000);

  it('export: our route at BIRD with our AS three times and the large community', async () => {
    await until('our route at BIRD', () => birdRoute(LAN_A.v4).includes('BGP.as_path'), 10_000, diagnostics);
    const r = birdRoute(LAN_A.v4);
    expect(r).toMatch(/BGP\.as_path: 65001 65001 65001\s*\n/);
    expect(r).toMatch(/BGP\.large_community: \(65001, 0, 1\)/);
  }, 20_000);

  it('reload --dry-run shows what the new export policy would do; nothing changes', () => {
    rewrite('from-b', 'to-b-v2');
    const r = cli<ReloadDryRunJson>(site!, 'reload', '--dry-run');
    expect(r.ok).toBe(true);
    expect(r.neighbors).toEqual([
      {
        name: 'peer',
        import: { changed: false, acceptedNow: 2, accept: 2, reject: 1, exact: false },
        // Our two announce prefixes (IPv4 and IPv6).
        export: { changed: true, advertisedNow: 2, send: 0, stop: 0, total: 2 },
      },
    ]);
    expect(birdRoute(LAN_A.v4)).toMatch(/BGP\.large_community: \(65001, 0, 1\)/);
  });

  it('reload with a new export policy: BIRD sees the new attributes, the session is not reset', async () => {
    const r = cli<ReloadJson>(site!, 'reload');
    expect(r).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    await until('BIRD has the new export', () => /BGP\.large_community: \(65001, 0, 2\)/.test(birdRoute(LAN_A.v4)), 10_000, diagnostics);
    expect(birdRoute(LAN_A.v4)).toMatch(/BGP\.as_path: 65001\s*\n/);
    expect(Math.abs(birdSince() - since)).toBeLessThan(100);
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0 });
  }, 20_000);

  it('reload with a new import policy: a ROUTE-REFRESH (RFC 2918) brings the routes through it, no reset', async () => {
    const sent = peer().routeRefresh.sent;
    rewrite('from-b-v2', 'to-b-v2');
    expect(cli<ReloadJson>(site!, 'reload')).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    await until('LOCAL_PREF 300 and the outside prefix at ours', () => route(LAN_B.v4)?.paths?.[0]?.localPref === 300 && weHave(OUTSIDE), 15_000, diagnostics);
    expect(peer().routeRefresh.sent).toBeGreaterThan(sent);
    expect(readFileSync(site!.agentLog, 'utf8')).toMatch(/import policy changed: ROUTE-REFRESH sent/);
    expect(Math.abs(birdSince() - since)).toBeLessThan(100);
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0, prefixesAccepted: 3 });
  }, 30_000);
});
