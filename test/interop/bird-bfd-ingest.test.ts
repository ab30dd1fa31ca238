/**
 * Issue 12's decision: BFD at 300 ms × 3 must not report a false down while
 * the agent ingests a big table in the same process. BIRD 2 in B (BFD on,
 * `bfd on` in BGP) sends BFD_INGEST_ROUTES routes (200 000 by default) at
 * once; the agent learns them and writes them to A's kernel while both BFD
 * sessions are watched. Printed: the ingest time, the main thread's longest
 * event-loop delay (what BFD on that thread would have suffered) and the BFD
 * worker thread's (from the metrics endpoint).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { execIn } from '../lab/helpers/netns.js';
import {
  ASN_A,
  ASN_B,
  HOLD_TIME,
  TUN_A,
  TUN_B,
  birdTimeMs,
  cli,
  createSite,
  missingPrerequisite,
  startAgent,
  startBird,
  startPeerTunnel,
  tail,
  teardown,
  until,
  type Site,
} from './helpers/site.js';
import type { NeighborJson, StatusJson } from '../../src/api/types.js';

const ROUTES = Number(process.env.BFD_INGEST_ROUTES ?? 200_000);
const METRICS = '127.0.0.1:9480';
const skip = missingPrerequisite(['bird', 'birdc']);
if (skip !== null) console.log(`interop/bird-bfd-ingest: skipped: ${skip}`);

function birdConfig(log: string): string {
  const routes: string[] = [];
  for (let i = 0; i < ROUTES; i++) routes.push(`route ${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24 via "lan0";`);
  return `
log "${log}" { warning, error, fatal };
router id 192.0.2.2;
protocol device { scan time 2; }
protocol static big { disabled; ipv4; ${routes.join('\n')} }
protocol bfd {
  interface "*" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };
}
protocol bgp wgbgp {
  local ${TUN_B.v4} as ${ASN_B};
  neighbor ${TUN_A.v4} as ${ASN_A};
  hold time ${HOLD_TIME};
  keepalive time ${HOLD_TIME / 3};
  ttl security yes;
  bfd on;
  connect delay time 10;
  connect retry time 2;
  error wait time 1, 5;
  ipv4 { import none; export where source = RTS_STATIC; };
  ipv6 { import none; export none; };
}
`;
}

/** BIRD's row for our session in `show bfd sessions`: its state and "since" (ms of the day). */
function birdBfd(text: string): { state: string; since: number } {
  const m = new RegExp(`^${TUN_A.v4.replaceAll('.', '\\.')}\\s+\\S+\\s+(\\S+)\\s+(\\d+:\\d+:[\\d.]+)`, 'm').exec(text);
  if (!m) throw new Error(`no BFD session in:\n${text}`);
  return { state: m[1]!, since: birdTimeMs(m[2]!) };
}

describe.skipIf(skip !== null)(`interop: no false BFD down while ${ROUTES} routes come in`, () => {
  let site: Site | undefined;
  let ctl = '';
  let birdLog = '';

  const birdc = (...args: string[]): string =>
    execFileSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  const peer = (): NeighborJson => cli<NeighborJson[]>(site!, 'neighbors')[0]!;
  const diagnostics = (): string => [birdc('show', 'bfd', 'sessions'), tail(site!.agentLog), tail(birdLog)].join('\n');
  /** One metric's value from A's metrics endpoint (scraping resets the event-loop maxima). */
  const scrape = async (): Promise<Map<string, number>> => {
    const r = await execIn(site!.nsA, [process.execPath, '-e', `fetch("http://${METRICS}/metrics").then(r => r.text()).then(t => process.stdout.write(t))`]);
    const out = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  };

  beforeAll(async () => {
    site = await createSite('bi', 33, { neighbor: { bfd: true } });
    const cfg = parse(readFileSync(site.agentConfig, 'utf8')) as Record<string, unknown>;
    writeFileSync(site.agentConfig, stringify({ ...cfg, metrics: { listen: METRICS } }));
    await startPeerTunnel(site);
    ({ ctl, log: birdLog } = await startBird(site, birdConfig));
    startAgent(site);
  }, 60_000);

  afterAll(async () => {
    await teardown(site);
  }, 60_000);

  it('BFD stays Up on both sides through the ingest', async () => {
    const s = site!;
    await until('BGP Established and BFD Up', () => peer().state === 'Established' && peer().bfd?.txIntervalMs === 300, 30_000, diagnostics);
    const since = peer().bfd!.since;
    const birdBefore = birdc('show', 'bfd', 'sessions');
    await scrape();
    const t0 = performance.now();
    expect(birdc('enable', 'big')).toMatch(/enabled/);
    const notUp: string[] = [];
    await until(
      `${ROUTES} routes in the RIB and the FIB`,
      () => {
        const b = peer().bfd;
        if (b?.state !== 'Up' || b.since !== since) notUp.push(JSON.stringify(b));
        const st = cli<StatusJson>(s, 'status');
        return st.routes.rib >= ROUTES && st.routes.fib >= ROUTES;
      },
      180_000,
      diagnostics,
    );
    const ingestMs = Math.round(performance.now() - t0);
    const m = await scrape();
    const mainMs = Math.round((m.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000);
    const bfdMs = Math.round((m.get('wgbgp_bfd_thread_event_loop_delay_max_seconds') ?? NaN) * 1000);
    console.log(
      `interop/bird-bfd-ingest: ${ROUTES} routes into the RIB and the kernel in ${ingestMs} ms; ` +
        `longest event-loop delay: main thread ${mainMs} ms, BFD worker thread ${bfdMs} ms (BFD 300 ms x 3, detection 900 ms)`,
    );
    expect(notUp, diagnostics()).toEqual([]);
    expect(peer()).toMatchObject({ state: 'Established', bfd: { state: 'Up', since } });
    // BIRD's side: still Up since before (BIRD prints "since" from the session's age: a few ms of jitter).
    expect(birdBfd(birdc('show', 'bfd', 'sessions'))).toMatchObject({ state: 'Up' });
    expect(Math.abs(birdBfd(birdc('show', 'bfd', 'sessions')).since - birdBfd(birdBefore).since)).toBeLessThan(100);
    // A delay d stretches the gap between our packets to at most 300 + d ms; the peer's detection time is 900 ms.
    expect(bfdMs).toBeLessThan(600);
  }, 240_000);
});
