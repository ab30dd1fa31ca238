/**
 * Issue 12, MTU per neighbor: the tunnel interface gets `mtu`, the routes the
 * agent installs through it carry advmss = MTU - 40 (IPv4) / - 60 (IPv6) so
 * TCP over the tunnel (the BGP session itself) announces an MSS that fits,
 * and a reload changes all of it in place: same interface, same wireguard-go,
 * the session never drops. The two-sites lab with `mtu: 1400`, real kernels.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, readState } from '#lab/index';
import { allEstablished, cli, editYaml, reload, until, type NeighborJson } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';

interface IpLink {
  ifindex: number;
  mtu: number;
}

interface IpRoute {
  dst: string;
  dev?: string;
  metrics?: { advmss?: number }[];
}

describe('tunnel MTU and TCP MSS (advmss), in the dataplane and changed in place', () => {
  const lab = uniqueName('mt');
  const ifA = uniqueName('ma');
  const ifB = uniqueName('mb');
  const sockA = `/run/wgbgp/${lab}-site-a.sock`;
  const nsA = `wgbgp-${lab}-site-a`;
  const dir = copyLab(join(REPO_LABS, 'two-sites'), lab, {
    'wg-a-b': ifA,
    'wg-b-a': ifB,
    '/run/wgbgp/two-sites-': `/run/wgbgp/${lab}-`,
  });
  /** The lab's config of `node` before `lab up`, the running agent's own copy after. */
  const setMtu = (node: string, mtu: number): void =>
    editYaml(readState(join(dir, '.lab-run'))?.nodes[node]?.config ?? join(dir, node, 'wgbgp.yaml'), (doc) => {
      for (const n of doc.neighbors as Record<string, unknown>[]) n.mtu = mtu;
    });
  setMtu('site-a', 1400);
  setMtu('site-b', 1400);
  const quiet = { print: () => undefined };

  const link = (): IpLink => (JSON.parse(execFileSync('ip', ['-n', nsA, '-j', 'link', 'show', 'dev', ifA], { encoding: 'utf8' })) as IpLink[])[0]!;
  const ourRoutes = (family: '-4' | '-6'): IpRoute[] =>
    (JSON.parse(execFileSync('ip', ['-n', nsA, family, '-j', 'route', 'show', 'proto', '201'], { encoding: 'utf8' }) || '[]') as IpRoute[]).filter((r) => r.dev === ifA);
  const advmss = (r: IpRoute): number | undefined => r.metrics?.find((m) => m.advmss !== undefined)?.advmss;
  /** `ss -ti` of the BGP session in site-a's namespace. */
  const bgpSocket = (): string => execFileSync('ip', ['netns', 'exec', nsA, 'ss', '-tinH', 'state', 'established', '( sport = :179 or dport = :179 )'], { encoding: 'utf8' });
  /** Whether a ping of `size` bytes of payload with DF set leaves site-a over the tunnel (IPv4: 28 bytes of headers). */
  const pingDf = (size: number): boolean => {
    try {
      execFileSync('ip', ['netns', 'exec', nsA, 'ping', '-c', '1', '-W', '2', '-M', 'do', '-s', String(size), '10.255.0.1'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    await labUp(dir, quiet);
    await until('site-a Established with routes', () => allEstablished(sockA) && ourRoutes('-4').some((r) => r.dst === '10.2.0.0/24'));
  }, 60_000);

  afterAll(async () => {
    await labDown(dir, quiet);
    removeLabCopy(dir);
  }, 60_000);

  it('mtu 1400: the interface, a DF ping of exactly 1400 bytes passes and 1401 does not; routes carry advmss 1360 / 1340; the session announces 1360', async () => {
    expect(link().mtu).toBe(1400);
    expect(cli<{ mtu?: number }[]>('tunnels', '--socket', sockA)[0]?.mtu).toBe(1400);
    expect(pingDf(1400 - 28)).toBe(true);
    expect(pingDf(1400 - 27)).toBe(false);
    // Learned routes and the host routes to the peer (what the session's TCP uses).
    const v4 = ourRoutes('-4');
    const v6 = ourRoutes('-6');
    expect(v4.map((r) => r.dst).sort()).toEqual(['10.2.0.0/24', '10.255.0.1']);
    expect(v6.map((r) => r.dst).sort()).toEqual(['2001:db8:2::/48', 'fd00:255::1']);
    for (const r of v4) expect(advmss(r), r.dst).toBe(1360);
    for (const r of v6) expect(advmss(r), r.dst).toBe(1340);
    // The session's TCP: path MTU 1400 and an MSS of 1360 less its TCP options (12 with timestamps).
    const ss = bgpSocket();
    expect(ss).toContain('pmtu:1400');
    const adv = Number(/advmss:(\d+)/.exec(ss)?.[1]);
    expect([1360, 1348]).toContain(adv);
    console.log(`tunnel-mtu: BGP session at mtu 1400: ${/(?:^|\s)(mss:\d+)/.exec(ss)?.[1] ?? '?'} advmss:${adv} pmtu:1400`);
  });

  it('reload to mtu 1380 changes it in place: same interface, the session stays up, routes follow (advmss 1340 / 1320)', async () => {
    const before = link();
    const [n0] = cli<NeighborJson[]>('neighbors', '--socket', sockA);
    setMtu('site-a', 1380);
    expect(await reload(sockA)).toContain('applied in place');
    expect(link()).toMatchObject({ ifindex: before.ifindex, mtu: 1380 });
    expect(cli<{ mtu?: number }[]>('tunnels', '--socket', sockA)[0]?.mtu).toBe(1380);
    await until('routes with advmss 1340', () => ourRoutes('-4').every((r) => advmss(r) === 1340) && ourRoutes('-6').every((r) => advmss(r) === 1320));
    expect(pingDf(1380 - 28)).toBe(true);
    expect(pingDf(1380 - 27)).toBe(false);
    // The running session's TCP follows the smaller path MTU at its next segment (keepalives every 3 s).
    await until('the session at pmtu 1380', () => bgpSocket().includes('pmtu:1380'), 15_000);
    const [n1] = cli<NeighborJson[]>('neighbors', '--socket', sockA);
    expect(n1).toMatchObject({ state: 'Established', stateSince: n0!.stateSince, established: n0!.established, flaps: n0!.flaps });
  });
});
