/**
 * Interop with OpenBGPD 7.7 (Debian's openbgpd) over real WireGuard
 * (wireguard-go) in two namespaces: the agent in A (AS 65001), bgpd in B
 * (AS 65002). One IPv4 session carries IPv4 and IPv6 unicast; B's routes
 * carry communities and large communities; route refresh both ways:
 * - `bgpctl neighbor X refresh` sends us a ROUTE-REFRESH per family: B counts
 *   the UPDATEs of our answer and the BoRR/EoRR around it (OpenBGPD 7.7 keeps
 *   its Adj-RIB-In and re-applies a changed filter on `bgpctl reload` by
 *   itself, so there a refresh changes no route);
 * - our `wgbgp neighbor peer refresh --in` reaches B, whose route decision
 *   process ignores it ("AID … not negotiated", see the test).
 * OpenBGPD 7.7 sends its own IPv6 networks over the IPv4 session with next
 * hop ::1: received, and not used (see the test).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASN_B,
  LAN_A,
  LAN_B,
  TUN_A,
  TUN_B,
  agentRoutes,
  cli,
  hasRoute,
  learnedRoutes,
  missingPrerequisite,
  teardown,
  until,
  type Site,
} from './helpers/site.js';
import { OPENBGPD_PREREQUISITES, createOpenbgpdSite, openbgpdConfig, openbgpdDiagnostics, openbgpdNeighbor, type Openbgpd } from './helpers/openbgpd.js';

const skip = missingPrerequisite(OPENBGPD_PREREQUISITES);
if (skip !== null) console.log(`interop/openbgpd: skipped: ${skip}`);

const bgpdConfig = (sock: string): string =>
  openbgpdConfig(sock, {
    networks: [
      `network ${LAN_B.v4} set { community ${ASN_B}:100 large-community ${ASN_B}:1:2 }`,
      `network ${LAN_B.v6} set { community ${ASN_B}:600 large-community ${ASN_B}:6:6 }`,
    ],
    local6: TUN_B.v6,
    session: ['announce IPv4 unicast', 'announce IPv6 unicast', 'announce refresh yes', 'announce enhanced refresh yes'],
    // Without it OpenBGPD 7.7 sends ::1 as the IPv6 next hop of its own networks over the IPv4 session.
    rules: [`match to ${TUN_A.v4} prefix ${LAN_B.v6} set nexthop ${TUN_B.v6}`],
  });

interface PeerView {
  state: string;
  prefixesReceived: number;
  prefixesAccepted: number;
  established: number;
  flaps: number;
  session: { families: string[]; routeRefresh: boolean; enhancedRouteRefresh?: boolean } | null;
  routeRefresh: { received: number; sent: number; answered: number; eorrTimeouts: number; awaitingEorr: string[] };
}

interface Counts {
  request: number;
  borr: number;
  eorr: number;
}

interface ObNeighbor {
  state: string;
  stats: {
    message: { received: { updates: number }; sent: { updates: number } };
    'route-refresh': { sent: Counts; received: Counts };
  };
}

interface PathView {
  communities: string[];
  largeCommunities: string[];
  asPath: number[];
}

describe.skipIf(skip !== null)('interop: OpenBGPD 7.7', () => {
  let site: Site | undefined;
  let b: Openbgpd | undefined;

  const peer = (): PeerView => cli<PeerView>(site!, 'neighbors', 'peer');
  /** `bgpctl -j show neighbor`: the session's state and message counters. */
  const neighbor = (): ObNeighbor => openbgpdNeighbor<ObNeighbor>(b!);
  const bHas = (prefix: string): boolean => {
    const j = JSON.parse(b!.bgpctl('-j', 'show', 'rib', prefix)) as { rib?: { prefix: string }[] };
    return (j.rib ?? []).some((r) => r.prefix === prefix);
  };
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  const diagnostics = (): string => openbgpdDiagnostics(site, b, ['show', 'neighbor', TUN_A.v4], ['show', 'rib', 'out', 'neighbor', TUN_A.v4, 'detail']);
  const unchanged = (): void => {
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0 });
    expect(neighbor().state).toBe('Established');
  };

  beforeAll(async () => {
    ({ site, b } = await createOpenbgpdSite('ob', 48, {}, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('the session comes up on IPv4 carrying both families, route refresh and enhanced route refresh negotiated', async () => {
    await until('Established both sides', () => peer().state === 'Established' && neighbor().state === 'Established', 30_000, diagnostics);
    expect(peer().session).toMatchObject({ families: ['ipv4-unicast', 'ipv6-unicast'], routeRefresh: true, enhancedRouteRefresh: true });
  }, 40_000);

  it("B's IPv4 route reaches A's kernel via B's tunnel address; its IPv6 one comes with next hop ::1 and is not used", async () => {
    await until(`${LAN_B.v4} in the kernel`, () => hasRoute(agentRoutes(site!, '-4'), LAN_B.v4, TUN_B.v4, site!.ifA), 15_000, diagnostics);
    // OpenBGPD 7.7 on Linux sends its own IPv6 networks over the IPv4 session with next hop ::1
    // (local-address, `set nexthop` on the network and an outbound `match … set nexthop` change
    // nothing; seen on the wire). RFC 4271 §9.1.2 step 0: not a next hop we could forward to.
    await until('both received', () => peer().prefixesReceived === 2, 10_000, diagnostics);
    expect(peer().prefixesAccepted).toBe(1);
    expect(weHave(LAN_B.v6)).toBe(false);
    expect(agentRoutes(site!, '-6').some((r) => r.dst === LAN_B.v6)).toBe(false);
  }, 30_000);

  it('RFC 1997 and RFC 8092: communities and large communities arrive as B set them', () => {
    const path = cli<{ paths: PathView[] }[]>(site!, 'routes', LAN_B.v4)[0]!.paths[0]!;
    expect(path).toMatchObject({ asPath: [ASN_B], communities: [`${ASN_B}:100`], largeCommunities: [`${ASN_B}:1:2`] });
  });

  it('our IPv4 and IPv6 routes reach B', async () => {
    await until('our routes at B', () => bHas(LAN_A.v4) && bHas(LAN_A.v6), 15_000, diagnostics);
  }, 30_000);

  it('RFC 2918: `bgpctl neighbor X refresh` (a request per family) is answered with our routes; no reset', async () => {
    const before = peer().routeRefresh;
    const updates = neighbor().stats.message.received.updates;
    b!.bgpctl('neighbor', TUN_A.v4, 'refresh');
    await until('our answer counted at B', () => neighbor().stats.message.received.updates > updates, 10_000, diagnostics);
    expect(peer().routeRefresh.received).toBe(before.received + 2);
    await until('both answered', () => peer().routeRefresh.answered === before.answered + 2, 10_000, diagnostics);
    // Our answer is framed by BoRR/EoRR (enhanced route refresh is negotiated): B counts them.
    await until('our BoRR and EoRR counted at B', () => neighbor().stats['route-refresh'].received.eorr >= 2, 10_000, diagnostics);
    expect(bHas(LAN_A.v4) && bHas(LAN_A.v6)).toBe(true);
    unchanged();
  }, 30_000);

  it('our `refresh --in` reaches B (counted per family), which ignores it: OpenBGPD 7.7 logs the family as not negotiated; nothing is lost here', async () => {
    const before = neighbor().stats['route-refresh'];
    expect(cli<{ in: string }>(site!, 'neighbor', 'peer', 'refresh', '--in').in).toBe('sent');
    await until('B counted our ROUTE-REFRESH per family', () => neighbor().stats['route-refresh'].received.request === before.received.request + 2, 10_000, diagnostics);
    // Its route decision process refuses every ROUTE-REFRESH from us (requests, and the BoRR/EoRR
    // around our answer above) although the session negotiated both families (`bgpctl show
    // neighbor`): "route refresh: AID IPv4 unicast not negotiated". It answers nothing.
    await until('B logged why', () => /route refresh: AID IPv4 unicast not negotiated/.test(readFileSync(b!.log, 'utf8')), 10_000, diagnostics);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(neighbor().stats['route-refresh'].sent.borr).toBe(before.sent.borr);
    expect(weHave(LAN_B.v4)).toBe(true);
    expect(peer().prefixesReceived).toBe(2);
    expect(peer().routeRefresh).toMatchObject({ awaitingEorr: [], eorrTimeouts: 0 });
    unchanged();
  }, 30_000);

  it('our `refresh --out` sends our table again: B counts the UPDATEs; no reset', async () => {
    const before = neighbor().stats.message.received.updates;
    expect(cli<{ out: string }>(site!, 'neighbor', 'peer', 'refresh', '--out').out).toBe('sent');
    await until('B received our routes again', () => neighbor().stats.message.received.updates > before, 10_000, diagnostics);
    expect(bHas(LAN_A.v4) && bHas(LAN_A.v6)).toBe(true);
    unchanged();
  }, 30_000);

  it('RFC 9003: B receives our Cease/Administrative Shutdown with the communication and shows it; `enable` brings the session back', async () => {
    // ASCII: bgpctl shows other octets escaped (vis(3)), "\342\234\223" for ✓.
    const message = 'maintenance until 18:00';
    cli(site!, 'neighbor', 'peer', 'shutdown', '--message', message);
    await until('B shows our communication', () => b!.bgpctl('show', 'neighbor', TUN_A.v4).includes(message), 10_000, diagnostics);
    expect(b!.bgpctl('show', 'neighbor', TUN_A.v4)).toContain(`Last received shutdown reason: "${message}"`);
    expect(peer().state).toBe('Idle');
    cli(site!, 'neighbor', 'peer', 'enable');
    // A Cease puts OpenBGPD's side in Idle for its IdleHold time (30 s and more), refusing our connections;
    // `clear` ends that wait, as an operator would after the maintenance.
    b!.bgpctl('neighbor', TUN_A.v4, 'clear');
    await until('Established again', () => peer().state === 'Established' && neighbor().state === 'Established', 30_000, diagnostics);
  }, 45_000);

  it("RFC 9003: B's own `bgpctl neighbor X down \"…\"` communication shows in our neighbors", async () => {
    b!.bgpctl('neighbor', TUN_A.v4, 'down', 'router moves to rack 7');
    await until('the communication here', () => cli<{ lastNotification: { communication: string | null } | null }>(site!, 'neighbors', 'peer').lastNotification?.communication === 'router moves to rack 7', 10_000, diagnostics);
    expect(cli(site!, 'neighbors', 'peer')).toMatchObject({ lastNotification: { direction: 'received', code: 6, subcode: 2 } });
    b!.bgpctl('neighbor', TUN_A.v4, 'up');
    await until('Established again', () => peer().state === 'Established' && neighbor().state === 'Established', 30_000, diagnostics);
  }, 45_000);
});
