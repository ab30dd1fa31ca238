/**
 * Operator policy against GoBGP 3 over real WireGuard (wireguard-go): the
 * agent in A (no soft reconfiguration), gobgpd in B with its routes added by
 * `gobgp global rib add`, one of them with community 65002:100.
 *
 * - import: prefix list + community match set LOCAL_PREF; a prefix outside
 *   the list is rejected;
 * - export: our route reaches GoBGP prepended and with a large community;
 * - reload: a new export policy reaches GoBGP; a new import policy is applied
 *   through our ROUTE-REFRESH (RFC 2918), which GoBGP answers; no reset
 *   (our established count stays 1, GoBGP counts no flop).
 */
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_A, LAN_B, TUN_A, cli, learnedRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { peerPolicies, setNeighborPolicies } from './helpers/policy.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, type Gobgp } from './helpers/gobgp.js';
import type { ReloadJson, RouteJson } from '#api/types';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-policy: skipped: ${skip}`);

const EXTRA_B = '10.2.1.0/24';
const OUTSIDE = '10.3.0.0/24';

const POLICY = peerPolicies();

interface PeerView {
  state: string;
  established: number;
  flaps: number;
  prefixesAccepted: number;
  routeRefresh: { sent: number };
}

interface GobgpNeighbor {
  state?: { session_state?: string | number; flops?: number; messages?: { received?: { refresh?: number } } };
}

describe.skipIf(skip !== null)('interop: import and export policy with GoBGP 3, changed on reload without a reset', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;

  const peer = (): PeerView => cli<PeerView>(site!, 'neighbors', 'peer');
  const route = (prefix: string): RouteJson | undefined => cli<RouteJson[]>(site!, 'routes', prefix)[0];
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  const neighbor = (): GobgpNeighbor => JSON.parse(b!.gobgp('-j', 'neighbor', TUN_A.v4)) as GobgpNeighbor;
  /** GoBGP's text view of our route: `gobgp global rib PREFIX` (AS path and attributes on one line). */
  const gobgpRoute = (prefix: string): string => b!.gobgp('global', 'rib', '-a', 'ipv4', prefix);
  const diagnostics = (): string => gobgpDiagnostics(site, b);
  const rewrite = (imp: string, exp: string): void => setNeighborPolicies(site!, { import: imp, export: exp });
  const unchanged = (): void => {
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0 });
    expect(neighbor().state?.flops ?? 0).toBe(0);
  };

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('gp', 55, { bgp: { import: 'from-b', export: 'to-b' }, top: POLICY }, gobgpdConfig(), {
      setup: (g) => {
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4, 'community', '65002:100');
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', EXTRA_B);
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', OUTSIDE);
      },
    }));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('import: LOCAL_PREF 200 on the tagged route, the untagged one as is, the one outside the list rejected', async () => {
    await until('Established with B\'s routes at ours', () => peer().state === 'Established' && weHave(LAN_B.v4) && weHave(EXTRA_B), 30_000, diagnostics);
    expect(route(LAN_B.v4)!.paths![0]).toMatchObject({ localPref: 200, communities: ['65002:100'] });
    expect(route(EXTRA_B)!.paths![0]).toMatchObject({ localPref: null });
    expect(route(OUTSIDE)!.paths![0]).toMatchObject({ eligible: false, ineligibleReason: 'policy', rejectedBy: 'from-b/default' });
  }, 40_000);

  it('export: our route at GoBGP with our AS three times and the large community', async () => {
    await until('our route at GoBGP', () => gobgpRoute(LAN_A.v4).includes('65001'), 10_000, diagnostics);
    const r = gobgpRoute(LAN_A.v4);
    expect(r).toMatch(/65001 65001 65001/);
    expect(r).toMatch(/65001:0:1/);
  }, 20_000);

  it('reload with a new export policy: GoBGP sees the new attributes, no reset', async () => {
    rewrite('from-b', 'to-b-v2');
    expect(cli<ReloadJson>(site!, 'reload')).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    await until('GoBGP has the new export', () => gobgpRoute(LAN_A.v4).includes('65001:0:2'), 10_000, diagnostics);
    expect(gobgpRoute(LAN_A.v4)).not.toMatch(/65001 65001/);
    unchanged();
  }, 20_000);

  it('reload with a new import policy: our ROUTE-REFRESH, GoBGP sends its routes again through it, no reset', async () => {
    const asked = neighbor().state?.messages?.received?.refresh ?? 0;
    rewrite('from-b-v2', 'to-b-v2');
    expect(cli<ReloadJson>(site!, 'reload')).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    await until('LOCAL_PREF 300 and the outside prefix at ours', () => route(LAN_B.v4)?.paths?.[0]?.localPref === 300 && weHave(OUTSIDE), 15_000, diagnostics);
    expect(neighbor().state?.messages?.received?.refresh ?? 0).toBeGreaterThan(asked);
    expect(peer().prefixesAccepted).toBe(3);
    unchanged();
  }, 30_000);
});
