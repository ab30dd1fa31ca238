/**
 * Route refresh with FRR 8 over real WireGuard (wireguard-go), both ways,
 * never resetting the session: the agent in A, FRR (zebra + bgpd) in B.
 *
 * `bgp route-map delay-timer 0` stops FRR from applying a changed route-map
 * by itself, so only a route refresh brings the new result:
 * - FRR's `clear bgp X soft in` sends us a ROUTE-REFRESH (RFC 2918); our
 *   answer makes the route its inbound route-map denied before appear in FRR;
 * - our `wgbgp neighbor peer refresh --in` makes FRR send its table again
 *   through its new outbound route-map (FRR counts the ROUTE-REFRESH);
 * - our `refresh --out` shows in FRR's received UPDATE counter.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_A, LAN_B, TUN_A, cli, learnedRoutes, missingPrerequisite, until, type Frr, type Site } from './helpers/site.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrNeighborJson, frrPaths, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-refresh: skipped: ${skip}`);

/** A second prefix of B's, sent only once its outbound route-map allows it. */
const EXTRA_B = '10.2.1.0/24';

const bgpdConfig = (log: string): string =>
  frrBgpdConfig(log, {
    before: [
      `ip prefix-list OURS seq 5 permit ${LAN_A.v4}`,
      `ip prefix-list B_OUT seq 5 permit ${LAN_B.v4}`,
      '!',
      'route-map FROM_A deny 10',
      ' match ip address prefix-list OURS',
      'exit',
      'route-map FROM_A permit 20',
      'exit',
      'route-map TO_A permit 10',
      ' match ip address prefix-list B_OUT',
      'exit',
      '!',
      'bgp route-map delay-timer 0',
    ],
    ipv4: [`network ${LAN_B.v4}`, `network ${EXTRA_B}`, `neighbor ${TUN_A.v4} route-map FROM_A in`, `neighbor ${TUN_A.v4} route-map TO_A out`],
  });

interface RefreshView {
  state: string;
  established: number;
  flaps: number;
  session: { enhancedRouteRefresh?: boolean; routeRefresh: boolean } | null;
  routeRefresh: { received: number; sent: number; answered: number };
}

interface FrrNeighbor {
  bgpState: string;
  connectionsEstablished: number;
  messageStats: { routeRefreshSent: number; routeRefreshRecv: number; updatesRecv: number };
  neighborCapabilities?: Record<string, unknown>;
}

describe.skipIf(skip !== null)('interop: route refresh (RFC 2918, RFC 7313) with FRR 8', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;

  const peer = (): RefreshView => cli<RefreshView>(site!, 'neighbors', 'peer');
  const frrNeighbor = (): FrrNeighbor => frrNeighborJson<FrrNeighbor>(frr!);
  const frrHas = (prefix: string): boolean => frrPaths(frr!, prefix).length > 0;
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  const diagnostics = (): string => frrDiagnostics(site, frr);
  const unchanged = (): void => {
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0 });
    expect(frrNeighbor()).toMatchObject({ bgpState: 'Established', connectionsEstablished: 1 });
  };

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fr', 46, {}, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardownFrrSite(site, frr);
  }, 30_000);

  it('the session comes up; the route-maps hold our route and B\'s second prefix back', async () => {
    await until('Established both sides with B\'s route at ours', () => peer().state === 'Established' && frrNeighbor().bgpState === 'Established' && weHave(LAN_B.v4), 30_000, diagnostics);
    expect(peer().session).toMatchObject({ routeRefresh: true });
    await until('FRR received our route', () => frrNeighbor().messageStats.updatesRecv >= 1, 10_000, diagnostics);
    expect(frrHas(LAN_A.v4)).toBe(false);
    expect(weHave(EXTRA_B)).toBe(false);
  }, 40_000);

  it('RFC 2918: FRR\'s `clear bgp X soft in` sends a ROUTE-REFRESH; our answer brings the route its new route-map permits; no reset', async () => {
    frr!.vtysh('configure terminal', 'route-map FROM_A permit 10');
    await new Promise((r) => setTimeout(r, 2_000));
    // delay-timer 0: FRR did not apply the change by itself.
    expect(frrHas(LAN_A.v4)).toBe(false);
    const before = peer().routeRefresh;
    frr!.vtysh(`clear bgp ${TUN_A.v4} soft in`);
    await until('our route in FRR after its soft in', () => frrHas(LAN_A.v4), 10_000, diagnostics);
    expect(frrNeighbor().messageStats.routeRefreshSent).toBeGreaterThanOrEqual(1);
    expect(peer().routeRefresh.received).toBeGreaterThan(before.received);
    expect(peer().routeRefresh.answered).toBeGreaterThan(before.answered);
    unchanged();
  }, 30_000);

  it('RFC 2918: our `refresh --in` makes FRR send its table through its new route-map: its second prefix appears; no reset', async () => {
    frr!.vtysh('configure terminal', `ip prefix-list B_OUT seq 10 permit ${EXTRA_B}`);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(weHave(EXTRA_B)).toBe(false);
    const before = frrNeighbor().messageStats.routeRefreshRecv;
    expect(cli<{ in: string }>(site!, 'neighbor', 'peer', 'refresh', '--in').in).toBe('sent');
    await until(`${EXTRA_B} at ours after our ROUTE-REFRESH`, () => weHave(EXTRA_B), 10_000, diagnostics);
    expect(frrNeighbor().messageStats.routeRefreshRecv).toBeGreaterThan(before);
    unchanged();
  }, 30_000);

  it('a route FRR no longer sends is gone after our `refresh --in`; no reset', async () => {
    frr!.vtysh('configure terminal', 'no ip prefix-list B_OUT seq 5');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(weHave(LAN_B.v4)).toBe(true);
    expect(cli<{ in: string }>(site!, 'neighbor', 'peer', 'refresh', '--in').in).toBe('sent');
    await until(`${LAN_B.v4} gone after FRR's refresh`, () => !weHave(LAN_B.v4), 10_000, diagnostics);
    expect(weHave(EXTRA_B)).toBe(true);
    // FRR 8.4 frames its re-advertisement with BoRR/EoRR (RFC 7313).
    expect(readFileSync(site!.agentLog, 'utf8')).toMatch(/BoRR: the peer sends the family again[\s\S]*EoRR: paths not sent again removed/);
    unchanged();
  }, 30_000);

  it('our `refresh --out` sends our table again: FRR counts the UPDATEs; no reset', async () => {
    const before = frrNeighbor().messageStats.updatesRecv;
    expect(cli<{ out: string }>(site!, 'neighbor', 'peer', 'refresh', '--out').out).toBe('sent');
    await until('FRR received our routes again', () => frrNeighbor().messageStats.updatesRecv > before, 10_000, diagnostics);
    expect(frrHas(LAN_A.v4)).toBe(true);
    unchanged();
    // What FRR negotiated, for the interop matrix.
    console.log(`interop/frr-refresh: enhanced route refresh negotiated: ${String(peer().session?.enhancedRouteRefresh === true)}`);
    expect(readFileSync(site!.agentLog, 'utf8')).toMatch(/route refresh answered/);
  }, 30_000);
});
