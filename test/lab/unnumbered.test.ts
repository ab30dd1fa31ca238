/**
 * design.md "Tunnel addressing": a neighbor without `tunnel` is unnumbered — an
 * IPv6 link-local pair derived from the two public keys, one BGP session on it
 * carrying both families, and IPv4 routes with IPv6 next hops (RFC 8950).
 * The two-sites lab with the tunnel addresses removed, on real kernels.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labTest, labUp } from '#lab/index';
import { linkLocalPair } from '#wg/linklocal';
import { allEstablished, cli, editYaml, until, type NeighborJson } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';

interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  via?: { family: string; host: string };
}

describe('unnumbered tunnels: BGP on derived link-locals, IPv4 over IPv6 next hops', () => {
  const lab = uniqueName('un');
  const ifA = uniqueName('ua');
  const ifB = uniqueName('ub');
  const sockA = `/run/wgbgp/${lab}-site-a.sock`;
  const nsA = `wgbgp-${lab}-site-a`;
  const dir = copyLab(join(REPO_LABS, 'two-sites'), lab, {
    'wg-a-b': ifA,
    'wg-b-a': ifB,
    '/run/wgbgp/two-sites-': `/run/wgbgp/${lab}-`,
  });
  for (const node of ['site-a', 'site-b']) {
    editYaml(join(dir, node, 'wgbgp.yaml'), (doc) => {
      for (const n of doc.neighbors as Record<string, unknown>[]) delete n.tunnel;
    });
  }
  // The numbered next hops of the two-sites assertions do not exist here: keep prefix and device.
  editYaml(join(dir, 'lab-test.yaml'), (doc) => {
    for (const node of Object.values(doc.nodes as Record<string, { routes: Record<string, unknown>[] }>)) {
      for (const r of node.routes) delete r.via;
    }
  });
  const quiet = { print: () => undefined };

  beforeAll(async () => {
    await labUp(dir, quiet);
    await until('site-a Established', () => allEstablished(sockA));
  }, 60_000);

  afterAll(async () => {
    await labDown(dir, quiet);
    removeLabCopy(dir);
  }, 60_000);

  it('lab test passes: sessions, routes on the tunnels, ping and ping6 between the LANs', async () => {
    const lines: string[] = [];
    expect(await labTest(dir, { print: (l) => lines.push(l) })).toBe(true);
    expect(lines.join('\n')).not.toContain('FAIL');
  });

  it('the session runs between the link-locals derived from both public keys', () => {
    const keys = (n: string): { own: string; peer: string } => {
      const own = execFileSync('wg', ['pubkey'], { input: execFileSync('cat', [join(dir, n, 'private.key')]) }).toString().trim();
      const peer = execFileSync('ip', ['netns', 'exec', `wgbgp-${lab}-${n}`, 'wg', 'show', n === 'site-a' ? ifA : ifB, 'peers'])
        .toString()
        .trim();
      return { own, peer };
    };
    const a = keys('site-a');
    const ll = linkLocalPair(a.own, a.peer);
    const [neighbor] = cli<NeighborJson[]>('neighbors', '--socket', sockA);
    expect(neighbor).toMatchObject({ state: 'Established', peerAddress: ll.remote });
    const addrs = execFileSync('ip', ['-n', nsA, '-6', '-o', 'addr', 'show', 'dev', ifA]).toString();
    expect(addrs).toContain(ll.local);
  });

  it('RFC 8950: the IPv4 route goes via the peer link-local (RTA_VIA inet6)', () => {
    const v4 = JSON.parse(execFileSync('ip', ['-n', nsA, '-4', '-j', 'route', 'show', 'proto', '201']).toString()) as IpRoute[];
    const route = v4.find((r) => r.dst === '10.2.0.0/24');
    expect(route?.dev).toBe(ifA);
    expect(route?.via?.family).toBe('inet6');
    expect(route?.via?.host).toMatch(/^fe80:/);
  });
});
