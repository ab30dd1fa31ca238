/**
 * RFC 7911 ADD-PATH with GoBGP 3 over real WireGuard (wireguard-go): the
 * agent in A (`add-path: { receive: true, send: 2 }`), gobgpd in B with
 * `add-paths` receive and send-max 2 for IPv4 and IPv6 unicast.
 * - receive: GoBGP has two paths of its own for 10.2.0.0/24 (`global rib add
 *   … identifier N`, MED 10 and 50) and sends both; `wgbgp routes PREFIX
 *   --json` shows both with GoBGP's identifiers; deleting one withdraws that
 *   path alone.
 * - send: GoBGP's adj-in holds our prefix with the Path Identifier we gave it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeighborJson, RouteJson } from '#api/types';
import {
  ASN_A,
  ASN_B,
  HOLD_TIME,
  LAN_A,
  LAN_B,
  TUN_A,
  TUN_B,
  cli,
  createSite,
  missingPrerequisite,
  startAgent,
  startGobgp,
  startPeerTunnel,
  tail,
  teardown,
  Timings,
  until,
  type Site,
} from './helpers/site.js';

const skip = missingPrerequisite(['gobgp', 'gobgpd']);
if (skip !== null) console.log(`interop/gobgp-add-path: skipped: ${skip}`);

function gobgpdConfig(): string {
  const family = (name: string) => `
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${name}"
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 2`;
  return `[global.config]
  as = ${ASN_B}
  router-id = "192.0.2.2"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${TUN_A.v4}"
    peer-as = ${ASN_A}
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = ${HOLD_TIME}
    keepalive-interval = ${HOLD_TIME / 3}
${family('ipv4-unicast')}
${family('ipv6-unicast')}
`;
}

interface GobgpPath {
  nlri: { prefix: string };
}

describe.skipIf(skip !== null)('interop: ADD-PATH (RFC 7911) with GoBGP 3', () => {
  let site: Site | undefined;
  let b: { log: string; gobgp(...args: string[]): string } | undefined;
  const timings = new Timings();
  const why = (): string => (site ? [tail(site.agentLog), tail(b?.log ?? '', 20)].join('\n') : '');
  const paths = (): NonNullable<RouteJson['paths']> => cli<RouteJson[]>(site!, 'routes', LAN_B.v4)[0]?.paths ?? [];

  beforeAll(async () => {
    site = await createSite('gap', 81, { bgp: { 'ttl-security': false, 'add-path': { receive: true, send: 2 } } });
    await startPeerTunnel(site);
    b = await startGobgp(site, gobgpdConfig());
    b.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4, 'identifier', '1', 'nexthop', TUN_B.v4, 'med', '10');
    b.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4, 'identifier', '2', 'nexthop', TUN_B.v4, 'med', '50');
    startAgent(site);
    timings.mark('setup');
  }, 30_000);

  afterAll(async () => {
    timings.print('interop/gobgp-add-path');
    await teardown(site);
  }, 30_000);

  it('Established; neighbors shows ADD-PATH both ways for both families', async () => {
    await until('Established', () => cli<NeighborJson[]>(site!, 'neighbors')[0]?.state === 'Established', 30_000, why);
    timings.mark('Established');
    expect(cli<NeighborJson[]>(site!, 'neighbors')[0]?.session?.addPath).toEqual({
      receive: ['ipv4-unicast', 'ipv6-unicast'],
      send: ['ipv4-unicast', 'ipv6-unicast'],
    });
  }, 40_000);

  it('receive: both of GoBGP\'s paths, with its identifiers 1 and 2; deleting one withdraws that path only', async () => {
    await until('two paths for 10.2.0.0/24', () => paths().length === 2, 15_000, why);
    timings.mark('two paths');
    const p = paths();
    console.log(`interop/gobgp-add-path: routes ${LAN_B.v4}: ${JSON.stringify(p.map((x) => ({ neighbor: x.neighbor?.name, pathId: x.pathId, med: x.med, best: x.best })))}`);
    expect(p.map((x) => [x.pathId, x.med, x.best]).sort()).toEqual([
      [1, 10, true],
      [2, 50, false],
    ]);
    b!.gobgp('global', 'rib', '-a', 'ipv4', 'del', LAN_B.v4, 'identifier', '1');
    await until('one path left', () => paths().length === 1, 10_000, why);
    expect(paths().map((x) => [x.pathId, x.med, x.best])).toEqual([[2, 50, true]]);
    timings.mark('path 1 withdrawn');
  }, 40_000);

  it('send: GoBGP\'s adj-in has our prefix with the Path Identifier we sent', async () => {
    const adjIn = (): GobgpPath[] => {
      const text = b!.gobgp('-j', 'neighbor', TUN_A.v4, 'adj-in', '-a', 'ipv4').trim();
      const parsed = (text === '' || text === 'null' ? {} : JSON.parse(text)) as Record<string, GobgpPath[]>;
      return parsed[LAN_A.v4] ?? [];
    };
    await until('our prefix in GoBGP adj-in', () => adjIn().length === 1, 10_000, why);
    // GoBGP's JSON leaves the identifier out; its table prints it in an ID column when the session has ADD-PATH.
    const text = b!.gobgp('neighbor', TUN_A.v4, 'adj-in', '-a', 'ipv4');
    console.log(`interop/gobgp-add-path: gobgp neighbor ${TUN_A.v4} adj-in:\n${text.trim()}`);
    const line = text.split('\n').find((l) => l.includes(LAN_A.v4));
    expect(text.split('\n')[0]).toMatch(/^\s*ID\s/);
    // Our own route is slot 0: identifier 1 (add-path-out.ts).
    expect(line?.trim().split(/\s+/)[0]).toBe('1');
  }, 20_000);
});
