/**
 * RFC 7911 ADD-PATH against BIRD 2 over real WireGuard (wireguard-go), three
 * BIRD instances each behind its own tunnel:
 * - b1 (AS 65002, `add paths tx`) has two routes for 10.2.0.0/24 (two static
 *   protocols, MED 10 and 50) and sends both, each with its Path Identifier;
 *   the agent (`add-path: { receive: true }`) keeps both as candidates and
 *   `routes PREFIX --json` shows both with their ids;
 * - b2 (AS 65003) sends one path for the same prefix;
 * - b3 (AS 65004, `add paths rx`) is sent two paths per prefix by the agent
 *   (`add-path: { send: 2 }`), best first: BIRD lists both in `show route`.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeighborJson, RouteJson } from '#api/types';
import {
  ASN_A,
  HOLD_TIME,
  LAN_B,
  cli,
  createPeers,
  missingPrerequisite,
  startAgent,
  startBird,
  startPeerTunnel,
  tail,
  teardownPeers,
  Timings,
  until,
  type Peers,
  type Site,
} from './helpers/site.js';

const skip = missingPrerequisite(['bird', 'birdc']);
if (skip !== null) console.log(`interop/bird-add-path: skipped: ${skip}`);

const LAN3 = { v4: '10.3.0.0/24', v6: '2001:db8:3::/48', addr4: '10.3.0.1', addr6: '2001:db8:3::1' };
const ASNS = [65002, 65003, 65004];

function birdConfig(site: Site, i: number, log: string): string {
  const session = (addPaths: string) => `
protocol bgp wgbgp {
  local ${site.tunB!.v4} as ${ASNS[i - 1]};
  neighbor ${site.tunB!.v4.replace(/\.1$/, '.0')} as ${ASN_A};
  hold time ${HOLD_TIME};
  keepalive time ${HOLD_TIME / 3};
  ttl security yes;
  connect delay time 10;
  connect retry time 2;
  error wait time 1, 5;
  ipv4 { import all; export where source = RTS_STATIC; ${addPaths} };
  ipv6 { import all; export where source = RTS_STATIC; next hop address ${site.tunB!.v6}; ${addPaths} };
}
`;
  const head = `
log "${log}" all;
router id 192.0.2.${10 + i};
protocol device { scan time 2; }
`;
  if (i === 1) {
    // Two routes for one prefix (two static protocols, told apart by MED): BIRD sends both with add paths tx.
    return `${head}
protocol static s1 { ipv4 { import filter { bgp_med = 10; accept; }; }; route ${LAN_B.v4} via "lan0"; }
protocol static s2 { ipv4 { import filter { bgp_med = 50; accept; }; }; route ${LAN_B.v4} via "lan0"; }
${session('add paths tx;')}`;
  }
  if (i === 2) return `${head}\nprotocol static s1 { ipv4; route ${LAN_B.v4} via "lan0"; }\n${session('')}`;
  return `${head}\n${session('add paths rx;')}`;
}

describe.skipIf(skip !== null)('interop: ADD-PATH (RFC 7911) with BIRD 2', () => {
  let lab: Peers | undefined;
  const ctl: string[] = [];
  const logs: string[] = [];
  const timings = new Timings();
  const birdc = (i: number, ...args: string[]): string =>
    execFileSync('birdc', ['-s', ctl[i]!, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
  const why = (): string => (lab ? [tail(lab.agentLog), ...logs.map((l) => tail(l, 15))].join('\n') : '');
  const a = (): Peers => lab!;

  beforeAll(async () => {
    lab = await createPeers('ap', 71, [
      { asn: ASNS[0]!, lan: LAN_B, bgp: { 'add-path': { receive: true } } },
      { asn: ASNS[1]!, lan: LAN_B },
      { asn: ASNS[2]!, lan: LAN3, bgp: { 'add-path': { send: 2 } } },
    ]);
    for (const [k, s] of lab.peers.entries()) {
      await startPeerTunnel(s);
      const b = await startBird(s, (log) => birdConfig(s, k + 1, log));
      ctl.push(b.ctl);
      logs.push(b.log);
    }
    startAgent(lab);
    timings.mark('setup');
  }, 60_000);

  afterAll(async () => {
    timings.print('interop/bird-add-path');
    await teardownPeers(lab);
  }, 30_000);

  it('the three sessions come up; neighbors shows ADD-PATH as negotiated per family and direction (RFC 7911 §5)', async () => {
    await until('three sessions Established', () => cli<{ state: string }[]>(a(), 'neighbors').every((n) => n.state === 'Established'), 40_000, why);
    timings.mark('Established');
    const ns = cli<NeighborJson[]>(a(), 'neighbors');
    const by = new Map(ns.map((n) => [n.name, n.session?.addPath]));
    expect(by.get('b1')).toEqual({ receive: ['ipv4-unicast', 'ipv6-unicast'], send: [] });
    expect(by.get('b2')).toBeUndefined();
    expect(by.get('b3')).toEqual({ receive: [], send: ['ipv4-unicast', 'ipv6-unicast'] });
  }, 60_000);

  it('receive: both of b1\'s paths are candidates, each with its Path Identifier, beside b2\'s', async () => {
    const paths = (): NonNullable<RouteJson['paths']> => cli<RouteJson[]>(a(), 'routes', LAN_B.v4)[0]?.paths ?? [];
    await until('three paths for 10.2.0.0/24', () => paths().length === 3, 20_000, why);
    timings.mark('three paths');
    const p = paths();
    console.log(`interop/bird-add-path: routes ${LAN_B.v4}: ${JSON.stringify(p.map((x) => ({ neighbor: x.neighbor?.name, pathId: x.pathId, med: x.med, best: x.best })))}`);
    const fromB1 = p.filter((x) => x.neighbor?.name === 'b1');
    expect(fromB1.map((x) => x.med).sort()).toEqual([10, 50]);
    expect(fromB1.every((x) => typeof x.pathId === 'number')).toBe(true);
    expect(new Set(fromB1.map((x) => x.pathId)).size).toBe(2);
    expect(p.find((x) => x.neighbor?.name === 'b2')?.pathId).toBeUndefined();
    expect(p.filter((x) => x.best)).toHaveLength(1);
    expect(cli<NeighborJson[]>(a(), 'neighbors').find((n) => n.name === 'b1')?.prefixesReceived).toBe(2);
  }, 40_000);

  it('send: b3 (add paths rx) is sent two paths for the prefix, best first; when b1 withdraws one, b3 loses it', async () => {
    const routes = (): string[] => birdc(2, 'show', 'route', 'all', LAN_B.v4).split('\n').filter((l) => l.includes(LAN_B.v4) || /^\s+(unicast|via)/.test(l) || l.includes('BGP.med'));
    const count = (): number => (birdc(2, 'show', 'route', LAN_B.v4).match(/\[wgbgp /g) ?? []).length;
    await until('two routes for 10.2.0.0/24 at b3', () => count() === 2, 20_000, () => `${birdc(2, 'show', 'route', 'all', LAN_B.v4)}\n${why()}`);
    timings.mark('two paths at b3');
    console.log(`interop/bird-add-path: b3 show route all ${LAN_B.v4}:\n${birdc(2, 'show', 'route', 'all', LAN_B.v4).trim()}`);
    expect(routes().length).toBeGreaterThan(0);
    // Best first (RFC 4271 §9.1.2.2): b1's MED 10 path, then b1's MED 50 one (router id 192.0.2.11 < b2's .12), not b2's.
    const shown = birdc(2, 'show', 'route', LAN_B.v4);
    expect((shown.match(/\[AS65002i\]/g) ?? []).length).toBe(2);
    expect(shown).not.toContain('[AS65003i]');
    // b1's second path goes: the agent has b1's first and b2's, still two to send.
    birdc(0, 'disable', 's2');
    await until('b1 down to one path at the agent', () => (cli<RouteJson[]>(a(), 'routes', LAN_B.v4)[0]?.paths ?? []).length === 2, 20_000, why);
    await until('still two routes at b3', () => count() === 2, 10_000, why);
    // And b2's path goes too: one left to send, the other withdrawn by its Path Identifier.
    birdc(1, 'disable', 's1');
    await until('one route at b3', () => count() === 1, 20_000, () => `${birdc(2, 'show', 'route', 'all', LAN_B.v4)}\n${why()}`);
    timings.mark('withdrawn by path id at b3');
  }, 60_000);
});
