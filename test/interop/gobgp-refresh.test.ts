/**
 * Route refresh with GoBGP 3 over real WireGuard (wireguard-go), both ways,
 * never resetting the session: the agent in A, gobgpd in B.
 *
 * GoBGP applies a changed policy assignment to what it already sent or
 * received only on a soft reset, so:
 * - GoBGP's `neighbor X softresetin` brings the route its old import policy
 *   rejected (GoBGP keeps its Adj-RIB-In: whether it asks us with a
 *   ROUTE-REFRESH is what our counters show);
 * - our `wgbgp neighbor peer refresh --in` makes GoBGP send its table again
 *   through its new export policy: a route appears at ours; one it no longer
 *   exports stays, since GoBGP 3.10 withdraws nothing in its answer and, not
 *   advertising enhanced route refresh (RFC 7313), sends no EoRR to sweep after;
 * - our `refresh --out` shows in GoBGP's received UPDATE counter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAN_A, LAN_B, TUN_A, cli, learnedRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, gobgpEstablished, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-refresh: skipped: ${skip}`);

/** A second prefix of B's, exported only once the policy holding it back is gone. */
const EXTRA_B = '10.2.1.0/24';

/** gobgpd holds back our LAN (import) and EXTRA_B (export) until its policies change. */
const config = gobgpdConfig({
  global: `[global.apply-policy.config]
  import-policy-list = ["hold-ours"]
  default-import-policy = "accept-route"
  export-policy-list = ["hold-extra"]
  default-export-policy = "accept-route"
`,
  definitions: `[[defined-sets.prefix-sets]]
  prefix-set-name = "ours"
  [[defined-sets.prefix-sets.prefix-list]]
    ip-prefix = "${LAN_A.v4}"
[[defined-sets.prefix-sets]]
  prefix-set-name = "extra"
  [[defined-sets.prefix-sets.prefix-list]]
    ip-prefix = "${EXTRA_B}"
[[defined-sets.prefix-sets]]
  prefix-set-name = "lan"
  [[defined-sets.prefix-sets.prefix-list]]
    ip-prefix = "${LAN_B.v4}"

[[policy-definitions]]
  name = "hold-ours"
  [[policy-definitions.statements]]
    name = "reject-ours"
    [policy-definitions.statements.conditions.match-prefix-set]
      prefix-set = "ours"
    [policy-definitions.statements.actions]
      route-disposition = "reject-route"
[[policy-definitions]]
  name = "hold-extra"
  [[policy-definitions.statements]]
    name = "reject-extra"
    [policy-definitions.statements.conditions.match-prefix-set]
      prefix-set = "extra"
    [policy-definitions.statements.actions]
      route-disposition = "reject-route"
[[policy-definitions]]
  name = "hold-lan"
  [[policy-definitions.statements]]
    name = "reject-lan"
    [policy-definitions.statements.conditions.match-prefix-set]
      prefix-set = "lan"
    [policy-definitions.statements.actions]
      route-disposition = "reject-route"
`,
});

interface RefreshView {
  state: string;
  established: number;
  flaps: number;
  session: { enhancedRouteRefresh?: boolean; routeRefresh: boolean } | null;
  routeRefresh: { received: number; sent: number; answered: number };
}

interface GobgpNeighbor {
  state?: {
    session_state?: string | number;
    messages?: { received?: { update?: number; refresh?: number }; sent?: { refresh?: number } };
    flops?: number;
  };
  timers?: { state?: { uptime?: unknown } };
}

describe.skipIf(skip !== null)('interop: route refresh (RFC 2918) with GoBGP 3', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;

  const peer = (): RefreshView => cli<RefreshView>(site!, 'neighbors', 'peer');
  const neighbor = (): GobgpNeighbor => JSON.parse(b!.gobgp('-j', 'neighbor', TUN_A.v4)) as GobgpNeighbor;
  const gobgpUp = (): boolean => gobgpEstablished(b!);
  const gobgpHas = (prefix: string): boolean => {
    const text = b!.gobgp('-j', 'global', 'rib', '-a', 'ipv4', prefix).trim();
    return text !== '' && text !== '{}' && text !== 'null' && text.includes(prefix.split('/')[0]!);
  };
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  const diagnostics = (): string => gobgpDiagnostics(site, b);
  const unchanged = (): void => {
    expect(peer()).toMatchObject({ state: 'Established', established: 1, flaps: 0 });
    expect(gobgpUp()).toBe(true);
    expect(neighbor().state?.flops ?? 0).toBe(0);
  };

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('gr', 47, {}, config, {
      setup: (g) => {
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4);
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', EXTRA_B);
      },
    }));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('the session comes up; the policies hold our route and B\'s second prefix back', async () => {
    await until('Established both sides with B\'s route at ours', () => peer().state === 'Established' && gobgpUp() && weHave(LAN_B.v4), 30_000, diagnostics);
    expect(peer().session).toMatchObject({ routeRefresh: true });
    await until('GoBGP received our route', () => (neighbor().state?.messages?.received?.update ?? 0) >= 1, 10_000, diagnostics);
    expect(gobgpHas(LAN_A.v4)).toBe(false);
    expect(weHave(EXTRA_B)).toBe(false);
  }, 40_000);

  it('GoBGP\'s `softresetin` brings the route its import policy no longer rejects; no reset', async () => {
    b!.gobgp('global', 'policy', 'import', 'del', 'hold-ours');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(gobgpHas(LAN_A.v4)).toBe(false);
    const before = peer().routeRefresh;
    b!.gobgp('neighbor', TUN_A.v4, 'softresetin');
    await until('our route in GoBGP after its softresetin', () => gobgpHas(LAN_A.v4), 10_000, diagnostics);
    // GoBGP 3.10 keeps its Adj-RIB-In and applies the policy to it: it asks us for nothing.
    expect(peer().routeRefresh.received).toBe(before.received);
    unchanged();
  }, 30_000);

  it('RFC 2918: our `refresh --in` makes GoBGP send its table through its new export policy: its second prefix appears; no reset', async () => {
    b!.gobgp('global', 'policy', 'export', 'del', 'hold-extra');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(weHave(EXTRA_B)).toBe(false);
    const before = neighbor().state?.messages?.received?.refresh ?? 0;
    expect(cli<{ in: string }>(site!, 'neighbor', 'peer', 'refresh', '--in').in).toBe('sent');
    await until(`${EXTRA_B} at ours after our ROUTE-REFRESH`, () => weHave(EXTRA_B), 10_000, diagnostics);
    expect(neighbor().state?.messages?.received?.refresh ?? 0).toBeGreaterThan(before);
    unchanged();
  }, 30_000);

  it('a route GoBGP no longer exports stays: its answer to our ROUTE-REFRESH withdraws nothing, and without RFC 7313 nothing is swept', async () => {
    b!.gobgp('global', 'policy', 'export', 'add', 'hold-lan');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(weHave(LAN_B.v4)).toBe(true);
    const before = neighbor().state?.messages?.received?.refresh ?? 0;
    expect(cli<{ in: string }>(site!, 'neighbor', 'peer', 'refresh', '--in').in).toBe('sent');
    await until('GoBGP got our ROUTE-REFRESH', () => (neighbor().state?.messages?.received?.refresh ?? 0) > before, 10_000, diagnostics);
    await new Promise((r) => setTimeout(r, 2_000));
    // GoBGP 3.10 re-sends what passes its export policy and withdraws nothing (its softresetout neither:
    // its adj-out no longer lists the route, no withdrawal is sent). It does not advertise capability 70,
    // so there is no EoRR after which we could sweep: a plain refresh must not drop routes.
    expect(peer().session?.enhancedRouteRefresh).toBe(false);
    expect(weHave(LAN_B.v4)).toBe(true);
    expect(weHave(EXTRA_B)).toBe(true);
    unchanged();
  }, 30_000);

  it('our `refresh --out` sends our table again: GoBGP counts the UPDATEs; no reset', async () => {
    const before = neighbor().state?.messages?.received?.update ?? 0;
    expect(cli<{ out: string }>(site!, 'neighbor', 'peer', 'refresh', '--out').out).toBe('sent');
    await until('GoBGP received our routes again', () => (neighbor().state?.messages?.received?.update ?? 0) > before, 10_000, diagnostics);
    unchanged();
  }, 30_000);
});
