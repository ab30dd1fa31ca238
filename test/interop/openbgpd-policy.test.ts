/**
 * Operator policy against OpenBGPD 7.7 over real WireGuard (wireguard-go):
 * the agent in A with soft-reconfiguration-inbound, bgpd in B announcing
 * three networks, one of them with community 65002:100.
 *
 * - import: prefix list + community match set LOCAL_PREF; a prefix outside
 *   the list is rejected (shown with its term in `routes PREFIX`);
 * - export: our route reaches OpenBGPD prepended and with a large community;
 * - reload: a new export policy reaches OpenBGPD (a MED set by policy too);
 *   a new import policy is applied from the pre-policy copies. OpenBGPD 7.7
 *   ignores our ROUTE-REFRESH ("AID … not negotiated", openbgpd.test.ts), so
 *   with OpenBGPD an import change needs `soft-reconfiguration-inbound: true`;
 *   the test shows no ROUTE-REFRESH is sent. No reset: our established count
 *   stays 1, and OpenBGPD's session is the same one (`bgpctl show neighbor`:
 *   no OPEN after the session came up, its up-time only grows).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASN_B, LAN_A, LAN_B, TUN_A, cli, learnedRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { peerPolicies, setNeighborPolicies } from './helpers/policy.js';
import { OPENBGPD_PREREQUISITES, createOpenbgpdSite, openbgpdConfig, openbgpdDiagnostics, openbgpdNeighbor, type Openbgpd } from './helpers/openbgpd.js';
import type { ReloadJson, RouteJson } from '#api/types';

const skip = missingPrerequisite(OPENBGPD_PREREQUISITES);
if (skip !== null) console.log(`interop/openbgpd-policy: skipped: ${skip}`);

const EXTRA_B = '10.2.1.0/24';
const OUTSIDE = '10.3.0.0/24';

const POLICY = peerPolicies(77);

const bgpdConfig = (sock: string): string =>
  openbgpdConfig(sock, { networks: [`network ${LAN_B.v4} set community ${ASN_B}:100`, `network ${EXTRA_B}`, `network ${OUTSIDE}`] });

interface PeerView {
  state: string;
  established: number;
  policy: { import: string[] };
  flaps: number;
  prefixesAccepted: number;
  routeRefresh: { sent: number };
}

interface ObNeighbor {
  state: string;
  last_updown_sec?: number;
  stats: { message: { sent: { open: number }; received: { open: number } } };
}

describe.skipIf(skip !== null)('interop: import and export policy with OpenBGPD 7.7, changed on reload without a reset', () => {
  let site: Site | undefined;
  let b: Openbgpd | undefined;
  /** OpenBGPD's view once the session is up: a reset would add OPENs and restart its up-time. */
  let baseline = { sentOpen: 0, receivedOpen: 0, upSince: 0 };

  const peer = (): PeerView => cli<PeerView>(site!, 'neighbors', 'peer');
  const route = (prefix: string): RouteJson | undefined => cli<RouteJson[]>(site!, 'routes', prefix)[0];
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  /** `bgpctl -j show neighbor`: state, time since the last up/down, message counters. */
  const neighbor = (): ObNeighbor => openbgpdNeighbor<ObNeighbor>(b!);
  /** OpenBGPD's text view of our route (`bgpctl show rib detail PREFIX`), '' while it has none. */
  const obRoute = (prefix: string): string => {
    const out = b!.bgpctl('show', 'rib', 'detail', prefix);
    return out.includes(prefix) ? out : '';
  };
  const diagnostics = (): string => openbgpdDiagnostics(site, b);
  const rewrite = (imp: string, exp: string): void => setNeighborPolicies(site!, { import: imp, export: exp });
  /** Same session on both sides: ours counted once, OpenBGPD's opened once each way and up without a break. */
  const unchanged = (): void => {
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0 });
    const n = neighbor();
    expect(n.state).toBe('Established');
    expect(n.stats.message.sent.open).toBe(baseline.sentOpen);
    expect(n.stats.message.received.open).toBe(baseline.receivedOpen);
    expect(n.last_updown_sec).toBeGreaterThanOrEqual(baseline.upSince);
  };

  beforeAll(async () => {
    ({ site, b } = await createOpenbgpdSite('op', 94, { bgp: { import: 'from-b', export: 'to-b', 'soft-reconfiguration-inbound': true }, top: POLICY }, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('import: LOCAL_PREF 200 on the route OpenBGPD tagged, the untagged one as is, the one outside the list rejected', async () => {
    await until("Established with B's routes at ours", () => peer().state === 'Established' && weHave(LAN_B.v4) && weHave(EXTRA_B), 30_000, diagnostics);
    expect(route(LAN_B.v4)!.paths![0]).toMatchObject({ localPref: 200, communities: ['65002:100'] });
    expect(route(EXTRA_B)!.paths![0]).toMatchObject({ localPref: null });
    expect(route(OUTSIDE)!.paths![0]).toMatchObject({ eligible: false, ineligibleReason: 'policy', rejectedBy: 'from-b/default' });
    const n = neighbor();
    expect(n.last_updown_sec).toBeTypeOf('number');
    // Both sides connect at start: OpenBGPD may count the OPENs of the losing connection too (RFC 4271 §6.8).
    baseline = { sentOpen: n.stats.message.sent.open, receivedOpen: n.stats.message.received.open, upSince: n.last_updown_sec ?? 0 };
  }, 40_000);

  it('export: our route at OpenBGPD with our AS three times and the large community', async () => {
    const shown = await until('our route at OpenBGPD', () => obRoute(LAN_A.v4) || null, 10_000, diagnostics);
    expect(shown).toMatch(/\b65001 65001 65001\b/);
    expect(shown).toMatch(/Large Communities: 65001:0:1\s*$/m);
  }, 20_000);

  it('reload with a new export policy: OpenBGPD sees the new attributes (MED set by policy), no reset', async () => {
    rewrite('from-b', 'to-b-v2');
    expect(cli<ReloadJson>(site!, 'reload')).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    const shown = await until('OpenBGPD has the new export', () => (/Large Communities: 65001:0:2\s*$/m.test(obRoute(LAN_A.v4)) ? obRoute(LAN_A.v4) : null), 10_000, diagnostics);
    expect(shown).not.toMatch(/65001 65001/);
    expect(shown).toMatch(/\bmetric 77\b/i);
    unchanged();
  }, 20_000);

  it('reload with a new import policy: applied at once from the pre-policy copies (OpenBGPD 7.7 would ignore a ROUTE-REFRESH), no reset', async () => {
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

interface ObRefresh {
  state: string;
  stats: { 'route-refresh': { received: { request: number } } };
}

/**
 * The same without soft-reconfiguration-inbound: the agent asks OpenBGPD 7.7
 * for its routes again (ROUTE-REFRESH, RFC 2918 §3), OpenBGPD counts the
 * request and answers nothing ("AID … not negotiated"), so the new import
 * policy reaches only what is sent after it: the paths keep the old policy's
 * result until the session is new (here OpenBGPD's `bgpctl neighbor X clear`).
 */
describe.skipIf(skip !== null)('interop: an import policy change with OpenBGPD 7.7 without soft-reconfiguration-inbound', () => {
  let site: Site | undefined;
  let b: Openbgpd | undefined;

  const peer = (): PeerView => cli<PeerView>(site!, 'neighbors', 'peer');
  const route = (prefix: string): RouteJson | undefined => cli<RouteJson[]>(site!, 'routes', prefix)[0];
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  const neighbor = (): ObRefresh => openbgpdNeighbor<ObRefresh>(b!);
  const diagnostics = (): string => openbgpdDiagnostics(site, b);

  beforeAll(async () => {
    ({ site, b } = await createOpenbgpdSite('on', 96, { bgp: { import: 'from-b', export: 'to-b' }, top: POLICY }, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('our ROUTE-REFRESH is counted and ignored: the old result stays, no reset; a new session applies the policy', async () => {
    await until("Established with B's routes at ours", () => peer().state === 'Established' && weHave(LAN_B.v4) && weHave(EXTRA_B), 30_000, diagnostics);
    expect(route(LAN_B.v4)!.paths![0]).toMatchObject({ localPref: 200 });
    const sent = peer().routeRefresh.sent;
    const requests = neighbor().stats['route-refresh'].received.request;
    setNeighborPolicies(site!, { import: 'from-b-v2' });
    expect(cli<ReloadJson>(site!, 'reload')).toMatchObject({ ok: true, changed: [], policies: ['peer'] });
    expect(peer().routeRefresh.sent).toBe(sent + 1);
    await until('OpenBGPD counted our request', () => neighbor().stats['route-refresh'].received.request === requests + 1, 10_000, diagnostics);
    await until('OpenBGPD logged why it answers nothing', () => /route refresh: AID IPv4 unicast not negotiated/.test(readFileSync(b!.log, 'utf8')), 10_000, diagnostics);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(route(LAN_B.v4)!.paths![0]).toMatchObject({ localPref: 200 });
    expect(route(OUTSIDE)!.paths![0]).toMatchObject({ eligible: false, rejectedBy: 'from-b/default' });
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0, policy: { import: ['from-b-v2'] } });
    // A new session: OpenBGPD sends everything again, evaluated by the new policy (before the fix that
    // came with this test, the new session compiled the policy of the agent's start: LOCAL_PREF 200 again).
    b!.bgpctl('neighbor', TUN_A.v4, 'clear');
    await until('LOCAL_PREF 300 and the outside prefix after the new session', () => route(LAN_B.v4)?.paths?.[0]?.localPref === 300 && weHave(OUTSIDE), 30_000, diagnostics);
    expect(peer().established).toBe(2);
  }, 60_000);
});
