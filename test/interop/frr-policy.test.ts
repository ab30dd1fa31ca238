/**
 * Operator policy against FRR 8 over real WireGuard (wireguard-go): the agent
 * in A with soft-reconfiguration-inbound, FRR (zebra + bgpd) in B.
 *
 * - import: a prefix list and a community match set LOCAL_PREF on what FRR
 *   sends (FRR tags one route with 65002:100); a prefix outside the list is rejected;
 * - export: our route reaches FRR prepended and with a large community
 *   (`show bgp ipv4 unicast PREFIX json`);
 * - reload: a new export policy reaches FRR, a new import policy is applied
 *   from our pre-policy copies (no ROUTE-REFRESH needed); neither resets the
 *   session (FRR's connectionsEstablished and our established count stay 1).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_A, LAN_B, TUN_A, cli, learnedRoutes, missingPrerequisite, until, type Frr, type Site } from './helpers/site.js';
import { peerPolicies, setNeighborPolicies } from './helpers/policy.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrNeighborJson, frrPaths, teardownFrrSite } from './helpers/frr.js';
import type { ReloadJson, RouteJson } from '#api/types';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-policy: skipped: ${skip}`);

const EXTRA_B = '10.2.1.0/24';
const OUTSIDE = '10.3.0.0/24';

const POLICY = peerPolicies(77);

const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    before: [
      `ip prefix-list TAGGED seq 5 permit ${LAN_B.v4}`,
      '!',
      'route-map TO_A permit 10',
      ' match ip address prefix-list TAGGED',
      ' set community 65002:100',
      'exit',
      'route-map TO_A permit 20',
      'exit',
    ],
    ipv4: [`network ${LAN_B.v4}`, `network ${EXTRA_B}`, `network ${OUTSIDE}`, `neighbor ${TUN_A.v4} route-map TO_A out`],
  });

interface PeerView {
  state: string;
  established: number;
  flaps: number;
  prefixesAccepted: number;
  routeRefresh: { sent: number };
}

interface FrrPath {
  aspath?: { string: string };
  largeCommunity?: { string: string };
  metric?: number;
}

describe.skipIf(skip !== null)('interop: import and export policy with FRR 8, changed on reload without a reset', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;

  const peer = (): PeerView => cli<PeerView>(site!, 'neighbors', 'peer');
  const route = (prefix: string): RouteJson | undefined => cli<RouteJson[]>(site!, 'routes', prefix)[0];
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  const frrPath = (prefix: string): FrrPath | undefined => frrPaths<FrrPath>(frr!, prefix)[0];
  const frrConnections = (): number => frrNeighborJson<{ connectionsEstablished: number }>(frr!).connectionsEstablished;
  const diagnostics = (): string => frrDiagnostics(site, frr);
  const rewrite = (imp: string, exp: string): void => setNeighborPolicies(site!, { import: imp, export: exp });
  const unchanged = (): void => {
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0 });
    expect(frrConnections()).toBe(1);
  };

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fp', 54, { bgp: { import: 'from-b', export: 'to-b', 'soft-reconfiguration-inbound': true }, top: POLICY }, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardownFrrSite(site, frr);
  }, 30_000);

  it('import: LOCAL_PREF 200 on the route FRR tagged, the untagged one as is, the one outside the list rejected', async () => {
    await until('Established with B\'s routes at ours', () => peer().state === 'Established' && weHave(LAN_B.v4) && weHave(EXTRA_B), 30_000, diagnostics);
    expect(route(LAN_B.v4)!.paths![0]).toMatchObject({ localPref: 200, communities: ['65002:100'] });
    expect(route(EXTRA_B)!.paths![0]).toMatchObject({ localPref: null });
    expect(route(OUTSIDE)!.paths![0]).toMatchObject({ eligible: false, ineligibleReason: 'policy', rejectedBy: 'from-b/default' });
  }, 40_000);

  it('export: our route at FRR with our AS three times and the large community', async () => {
    await until('our route at FRR', () => frrPath(LAN_A.v4) !== undefined, 10_000, diagnostics);
    expect(frrPath(LAN_A.v4)).toMatchObject({ aspath: { string: '65001 65001 65001' }, largeCommunity: { string: '65001:0:1' } });
  }, 20_000);

  it('reload with a new export policy: FRR sees the new attributes (MED to eBGP, set by policy), no reset', async () => {
    rewrite('from-b', 'to-b-v2');
    expect(cli<ReloadJson>(site!, 'reload')).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    await until('FRR has the new export', () => frrPath(LAN_A.v4)?.largeCommunity?.string === '65001:0:2', 10_000, diagnostics);
    expect(frrPath(LAN_A.v4)).toMatchObject({ aspath: { string: '65001' }, metric: 77 });
    unchanged();
  }, 20_000);

  it('reload with a new import policy: applied at once from the pre-policy copies, no ROUTE-REFRESH, no reset', async () => {
    const sent = peer().routeRefresh.sent;
    rewrite('from-b-v2', 'to-b-v2');
    expect(cli<ReloadJson>(site!, 'reload')).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    await until('LOCAL_PREF 300 and the outside prefix at ours', () => route(LAN_B.v4)?.paths?.[0]?.localPref === 300 && weHave(OUTSIDE), 10_000, diagnostics);
    expect(peer().routeRefresh.sent).toBe(sent);
    expect(readFileSync(site!.agentLog, 'utf8')).toMatch(/paths evaluated again from their pre-policy copies/);
    expect(peer().prefixesAccepted).toBe(3);
    unchanged();
  }, 20_000);
});
