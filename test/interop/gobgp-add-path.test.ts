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
import { LAN_A, LAN_B, TUN_A, TUN_B, cli, missingPrerequisite, tail, teardown, Timings, until, type Site } from './helpers/site.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpdConfig, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-add-path: skipped: ${skip}`);

const ADD_PATHS = `    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 2
`;
const config = gobgpdConfig({ families: [{ name: 'ipv4-unicast', toml: ADD_PATHS }, { name: 'ipv6-unicast', toml: ADD_PATHS }] });

interface GobgpPath {
  nlri: { prefix: string };
}

describe.skipIf(skip !== null)('interop: ADD-PATH (RFC 7911) with GoBGP 3', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;
  const timings = new Timings();
  const why = (): string => (site ? [tail(site.agentLog), tail(b?.log ?? '', 20)].join('\n') : '');
  const paths = (): NonNullable<RouteJson['paths']> => cli<RouteJson[]>(site!, 'routes', LAN_B.v4)[0]?.paths ?? [];

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('gap', 81, { bgp: { 'add-path': { receive: true, send: 2 } } }, config, {
      setup: (g) => {
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4, 'identifier', '1', 'nexthop', TUN_B.v4, 'med', '10');
        g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4, 'identifier', '2', 'nexthop', TUN_B.v4, 'med', '50');
      },
    }));
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
