/**
 * Route refresh with BIRD 2 over real WireGuard (wireguard-go), both ways,
 * never resetting the session: the agent in A, BIRD in B as in bird.test.ts.
 *
 * Filters are changed with `birdc configure soft`, which (unlike a plain
 * `configure`) leaves the routes already imported or exported as they were, so
 * only a route refresh brings the new filter's result:
 * - BIRD's `reload in` sends us a ROUTE-REFRESH (RFC 2918); our answer makes
 *   the route its import filter rejected before appear in BIRD;
 * - our `wgbgp neighbor peer refresh --in` makes BIRD send its table again
 *   through its new export filter: a route appears at ours, and with enhanced
 *   route refresh (RFC 7313, BoRR/EoRR) one it no longer exports goes;
 * - our `refresh --out` shows in BIRD's import counters;
 * - our KEEPALIVEs go on while we send ROUTE-REFRESH requests more often
 *   than the keepalive time: BIRD restarts its hold timer on KEEPALIVE and
 *   UPDATE only (RFC 4271 §8.2.2). The agent used to count a ROUTE-REFRESH
 *   sent as a KEEPALIVE; two requests < 3 s apart (tests 3 and 4 on a fast
 *   box) let BIRD's hold timer (9 s, less up to 25 % of jitter) run out.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOLD_TIME, LAN_A, LAN_B, birdUpSince, cli, learnedRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig, birdcAt, birdDiagnostics, createBirdSite, type Bird } from './helpers/bird.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-refresh: skipped: ${skip}`);

/** A second prefix of B's, exported only once its filter allows it. */
const EXTRA_B = '10.2.1.0/24';

interface Filters {
  /** BIRD imports our LAN_A.v4. */
  acceptOurs: boolean;
  /** BIRD exports these of its static routes. */
  export: string[];
}

function birdConfig(f: Filters): (log: string) => string {
  return (log) =>
    birdBgpConfig(log, {
      protocols: [
        `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; route ${EXTRA_B} via "lan0"; }`,
        `filter from_wgbgp { ${f.acceptOurs ? '' : `if net = ${LAN_A.v4} then reject; `}accept; }`,
        `filter to_wgbgp { if source != RTS_STATIC then reject; ${f.export.length === 0 ? 'reject;' : `if net ~ [ ${f.export.join(', ')} ] then accept; reject;`} }`,
      ],
      session: ['enable route refresh on;'],
      ipv4: 'import filter from_wgbgp; export filter to_wgbgp;',
    });
}

interface RefreshView {
  state: string;
  established: number;
  flaps: number;
  session: { enhancedRouteRefresh?: boolean; routeRefresh: boolean } | null;
  routeRefresh: { received: number; sent: number; answered: number; eorrTimeouts: number; awaitingEorr: string[]; resending: string[] };
}

describe.skipIf(skip !== null)('interop: route refresh (RFC 2918, RFC 7313) with BIRD 2', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;

  const birdc = (...args: string[]): string => birdcAt(bird!.ctl, ...args);
  const peer = (): RefreshView => cli<RefreshView>(site!, 'neighbors', 'peer');
  // `show route for` exits non-zero with "Network not found".
  const birdHas = (prefix: string): boolean =>
    spawnSync('birdc', ['-s', bird!.ctl, 'show', 'route', 'for', prefix, 'table', 'master4'], { encoding: 'utf8', timeout: 5_000 }).stdout.includes(`${prefix}`);
  const weHave = (prefix: string): boolean => learnedRoutes(site!).some((r) => r.prefix === prefix);
  /** BIRD's "Established" line names when the session came up: unchanged means no reset. */
  const birdSince = (): number => birdUpSince(birdc('show', 'protocols', 'wgbgp'), 'wgbgp');
  /** Seconds left on BIRD's hold timer ("Hold timer: 6.123/9"). */
  const birdHoldLeft = (): number => Number(/Hold timer:\s+([\d.]+)\//.exec(birdc('show', 'protocols', 'all', 'wgbgp'))?.[1] ?? NaN);
  /** BIRD's ipv4 channel "Import updates: received …" (the first figure). */
  const birdImportUpdates = (): number => Number(/Import updates:\s+(\d+)/.exec(birdc('show', 'protocols', 'all', 'wgbgp'))?.[1] ?? NaN);
  const reconfigure = (f: Filters): void => {
    writeFileSync(bird!.conf, birdConfig(f)(bird!.log));
    expect(birdc('configure', 'soft', `"${bird!.conf}"`)).toMatch(/Reconfigured/);
  };
  const diagnostics = (): string => birdDiagnostics(site, bird);
  /** The session as it came up: a refresh must leave it so (RFC 2918 §1: no reset). */
  let since = NaN;
  /** Both sides still on the session that came up: ours not flapped, BIRD's up-since unchanged (with the logs if not). */
  const expectNoReset = (more: object = {}): void => {
    const why = diagnostics();
    expect(peer(), why).toMatchObject({ state: 'Established', established: 1, flaps: 0, ...more });
    expect(Math.abs(birdSince() - since), why).toBeLessThan(100);
  };

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('br', 45, {}, birdConfig({ acceptOurs: false, export: [LAN_B.v4] })));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('the session comes up with enhanced route refresh; the filters hold our route and B\'s second prefix back', async () => {
    await until('Established both sides with B\'s route at ours', () => peer().state === 'Established' && !Number.isNaN(birdSince()) && weHave(LAN_B.v4), 30_000, diagnostics);
    expect(peer().session).toMatchObject({ routeRefresh: true, enhancedRouteRefresh: true });
    since = birdSince();
    // Our announcement reached BIRD (its import filter rejected it).
    await until('BIRD received our route', () => birdImportUpdates() >= 1, 10_000, diagnostics);
    expect(birdHas(LAN_A.v4)).toBe(false);
    expect(weHave(EXTRA_B)).toBe(false);
  }, 40_000);

  it('RFC 2918: BIRD\'s `reload in` sends a ROUTE-REFRESH; our answer brings the route its new import filter accepts; no reset', async () => {
    reconfigure({ acceptOurs: true, export: [LAN_B.v4] });
    // configure soft leaves the rejected route rejected: nothing asks us for it yet.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(birdHas(LAN_A.v4)).toBe(false);
    const before = peer().routeRefresh;
    expect(birdc('reload', 'in', 'wgbgp')).toMatch(/reloading/);
    await until('our route in BIRD after its reload in', () => birdHas(LAN_A.v4), 10_000, diagnostics);
    const after = peer();
    expect(after.routeRefresh.received).toBeGreaterThan(before.received);
    expect(after.routeRefresh.answered).toBeGreaterThan(before.answered);
    expectNoReset();
    expect(readFileSync(site!.agentLog, 'utf8')).toMatch(/route refresh answered: Adj-RIB-Out sent again/);
  }, 30_000);

  it('RFC 2918: our `refresh --in` makes BIRD send its table through its new export filter: its second prefix appears; no reset', async () => {
    reconfigure({ acceptOurs: true, export: [LAN_B.v4, EXTRA_B] });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(weHave(EXTRA_B)).toBe(false);
    const r = cli<{ name: string; in: string; out: null }>(site!, 'neighbor', 'peer', 'refresh', '--in');
    expect(r).toEqual({ name: 'peer', in: 'sent', out: null });
    await until(`${EXTRA_B} at ours after our ROUTE-REFRESH`, () => weHave(EXTRA_B), 10_000, diagnostics);
    expect(peer().routeRefresh.sent).toBeGreaterThanOrEqual(2);
    expectNoReset();
  }, 30_000);

  it('RFC 7313 §4: a route BIRD no longer exports is gone after its refresh (BoRR … EoRR); no reset', async () => {
    reconfigure({ acceptOurs: true, export: [EXTRA_B] });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(weHave(LAN_B.v4)).toBe(true);
    expect(cli<{ in: string }>(site!, 'neighbor', 'peer', 'refresh', '--in').in).toBe('sent');
    await until(`${LAN_B.v4} gone after BIRD's refresh`, () => !weHave(LAN_B.v4), 10_000, diagnostics);
    expect(weHave(EXTRA_B)).toBe(true);
    // The refresh was framed by BoRR and EoRR. BIRD 2.0.12 withdraws the route explicitly in its re-feed
    // (its export table knows it sent it), so the EoRR finds nothing stale left: the sweep itself is
    // proven in test/agent/refresh.test.ts.
    const sweeps = readFileSync(site!.agentLog, 'utf8')
      .split('\n')
      .filter((l) => l.includes('EoRR: paths not sent again removed') && l.includes('ipv4-unicast'))
      .map((l) => JSON.parse(l) as { changes: number });
    expect(sweeps.at(-1)?.changes).toBe(0);
    expect(readFileSync(site!.agentLog, 'utf8')).toMatch(/BoRR: the peer sends the family again/);
    expectNoReset({ routeRefresh: { awaitingEorr: [], eorrTimeouts: 0 } });
  }, 30_000);

  it('our `refresh --out` sends our table again: BIRD counts the updates; no reset', async () => {
    const before = birdImportUpdates();
    expect(cli<{ out: string }>(site!, 'neighbor', 'peer', 'refresh', '--out').out).toBe('sent');
    await until('BIRD received our routes again', () => birdImportUpdates() > before, 10_000, diagnostics);
    expect(birdHas(LAN_A.v4)).toBe(true);
    expectNoReset();
  }, 30_000);

  it('RFC 4271 §8.2.2: ROUTE-REFRESH requests more often than the keepalive time are no KEEPALIVEs: BIRD\'s hold timer runs on ours; no reset', async () => {
    // BIRD restarts its hold timer on KEEPALIVE and UPDATE only, and a `refresh --in` makes no
    // UPDATE of ours: only our KEEPALIVEs (every HOLD_TIME / 3 s) keep the session up meanwhile.
    const sentBefore = peer().routeRefresh.sent;
    const end = Date.now() + (HOLD_TIME + 3) * 1000;
    let requests = 0;
    let leastHoldLeft = Infinity;
    while (Date.now() < end) {
      let answer = '';
      try {
        answer = cli<{ in: string }>(site!, 'neighbor', 'peer', 'refresh', '--in').in;
      } catch (e) {
        expect.fail(`refresh --in refused after ${requests} requests: ${e instanceof Error ? e.message : String(e)}\n${diagnostics()}`);
      }
      expect(answer).toBe('sent');
      requests++;
      leastHoldLeft = Math.min(leastHoldLeft, birdHoldLeft());
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`interop/bird-refresh: ${requests} refresh --in in ${HOLD_TIME + 3} s; BIRD's hold timer at least ${leastHoldLeft} s of ${HOLD_TIME} left`);
    expectNoReset();
    // At least one request a keepalive time (3 s) on average, or the step proved nothing.
    expect(requests).toBeGreaterThanOrEqual((HOLD_TIME + 3) / (HOLD_TIME / 3));
    // Two families a request.
    expect(peer().routeRefresh.sent).toBeGreaterThanOrEqual(sentBefore + 2 * requests);
  }, 40_000);
});
