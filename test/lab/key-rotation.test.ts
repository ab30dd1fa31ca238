/**
 * Issue 12, key rotation without a drop, on real kernels: labs/hub-spokes
 * (a hub with two spokes over wireguard-go). spoke-1 rotates its private key
 * (new key file + reload: its own key, set on its tunnel in place), then the
 * hub reloads with spoke-1's new public key: only that WireGuard peer is
 * swapped (the learned endpoint carried over), the interfaces, addresses and
 * routes stay, spoke-2's session and routes are never touched, and spoke-1's
 * session goes on over the first handshake under the new key (its TCP bridges
 * the gap; hold time 30 s here, 90 by default). The gap is printed.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, readState } from '#lab/index';
import { allEstablished, cli, editYaml, kernelRoutes, reload, until, type NeighborJson } from './helpers/agents.js';
import { copyLab, removeLabCopy, REPO_LABS } from './helpers/labs.js';
import { uniqueName } from './helpers/netns.js';
import { linkLocalPair } from '#wg/linklocal';

interface IpLink {
  ifindex: number;
}

describe('key rotation: one neighbor re-keyed, nothing else touched', () => {
  const lab = uniqueName('kr');
  const ifHubS1 = uniqueName('ks1');
  const ifHubS2 = uniqueName('ks2');
  const ifS1 = uniqueName('k1h');
  const ifS2 = uniqueName('k2h');
  const sock = (node: string): string => `/run/wgbgp/${lab}-${node}.sock`;
  const ns = (node: string): string => `wgbgp-${lab}-${node}`;
  const dir = copyLab(join(REPO_LABS, 'hub-spokes'), lab, {
    'wg-h-s1': ifHubS1,
    'wg-h-s2': ifHubS2,
    'wg-s1-h': ifS1,
    'wg-s2-h': ifS2,
    '/run/wgbgp/hub-spokes-': `/run/wgbgp/${lab}-`,
  });
  // The default's order of magnitude (90 s): the rotation must fit in it, not in the lab's 9 s.
  for (const node of ['hub', 'spoke-1', 'spoke-2']) {
    editYaml(join(dir, node, 'wgbgp.yaml'), (doc) => {
      for (const n of doc.neighbors as { bgp: Record<string, unknown> }[]) n.bgp['hold-time'] = 30;
    });
  }
  const quiet = { print: () => undefined };
  const runtimeConfig = (node: string): string => readState(join(dir, '.lab-run'))?.nodes[node]?.config ?? '';
  const neighbor = (node: string, name: string): NeighborJson => cli<NeighborJson[]>('neighbors', '--socket', sock(node)).find((n) => n.name === name)!;
  const ifindex = (node: string, ifname: string): number =>
    (JSON.parse(execFileSync('ip', ['-n', ns(node), '-j', 'link', 'show', 'dev', ifname], { encoding: 'utf8' })) as IpLink[])[0]!.ifindex;
  /** `wg show IF latest-handshakes` in the hub's namespace: public key → unix seconds (0: never). */
  const handshakes = (ifname: string): Map<string, number> =>
    new Map(
      execFileSync('ip', ['netns', 'exec', ns('hub'), 'wg', 'show', ifname, 'latest-handshakes'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [k, t] = l.split('\t');
          return [k!, Number(t)] as [string, number];
        }),
    );
  const routesVia = (ifname: string): string[] =>
    [...kernelRoutes(ns('hub'), '-4'), ...kernelRoutes(ns('hub'), '-6')].filter((r) => r.dev === ifname).map((r) => `${r.dst} ${r.gateway ?? ''}`).sort();

  beforeAll(async () => {
    await labUp(dir, quiet);
    await until('the hub has both spokes Established', () => allEstablished(sock('hub')) && routesVia(ifHubS1).length > 0 && routesVia(ifHubS2).length > 0, 45_000);
  }, 60_000);

  afterAll(async () => {
    await labDown(dir, quiet);
    removeLabCopy(dir);
    for (const ifname of [ifHubS1, ifHubS2, ifS1, ifS2]) rmSync(`/run/wgbgp/${ifname}.log`, { force: true });
  }, 60_000);

  it("spoke-1 re-keys (its own key, then the hub's config): spoke-1's session bridges it, spoke-2 is untouched", async () => {
    const s1 = neighbor('hub', 'spoke-1');
    const s2 = neighbor('hub', 'spoke-2');
    const index = { s1: ifindex('hub', ifHubS1), s2: ifindex('hub', ifHubS2), spoke: ifindex('spoke-1', ifS1) };
    const s2Routes = routesVia(ifHubS2);
    const s1Routes = routesVia(ifHubS1);
    const s2Peer = [...handshakes(ifHubS2).keys()];

    // Watch spoke-2's session at the hub all along: any state but Established is a drop.
    const seen = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        seen.add(neighbor('hub', 'spoke-2').state);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const newKey = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
    const newPub = execFileSync('wg', ['pubkey'], { input: `${newKey}\n`, encoding: 'utf8' }).trim();
    const keyFile = (readFileSync(runtimeConfig('spoke-1'), 'utf8').match(/private-key-file:\s*(\S+)/) ?? [])[1]!;
    writeFileSync(keyFile, `${newKey}\n`, { mode: 0o600 });
    const t0 = performance.now();
    expect(await reload(sock('spoke-1'))).toContain('tunnel settings of hub applied in place');
    editYaml(runtimeConfig('hub'), (doc) => {
      const n = (doc.neighbors as Record<string, unknown>[]).find((x) => x.name === 'spoke-1')!;
      n['public-key'] = newPub;
    });
    expect(await reload(sock('hub'))).toContain('tunnel settings of spoke-1 applied in place');
    const t1 = performance.now();

    // The swapped peer's first handshake: `wg` shows 0 until it happened.
    await until('a handshake under the new key', () => (handshakes(ifHubS1).get(newPub) ?? 0) > 0, 20_000);
    const t2 = performance.now();
    expect([...handshakes(ifHubS1).keys()]).toEqual([newPub]);
    // BGP messages flow again on the same session (keepalives every 10 s at hold time 30).
    const received = s1.messagesReceived;
    await until('a BGP message from spoke-1 after the handshake', () => neighbor('hub', 'spoke-1').messagesReceived > received, 20_000);
    const t3 = performance.now();
    watching = false;
    await watch;

    const s1After = neighbor('hub', 'spoke-1');
    const kept = s1After.established === s1.established && s1After.stateSince === s1.stateSince;
    console.log(
      `key-rotation: hub reload done ${Math.round(t1 - t0)} ms after spoke-1's; first handshake under the new key ` +
        `${Math.round(t2 - t0)} ms after spoke-1's reload (${Math.round(t2 - t1)} ms after the hub's); ` +
        `first BGP message after it ${Math.round(t3 - t0)} ms after spoke-1's reload; spoke-1's session ${kept ? 'kept (no drop)' : 're-established'}`,
    );
    // Nothing rebuilt: the same interfaces on both ends.
    expect({ s1: ifindex('hub', ifHubS1), s2: ifindex('hub', ifHubS2), spoke: ifindex('spoke-1', ifS1) }).toEqual(index);
    // spoke-1: the same session, its routes in place.
    expect(s1After).toMatchObject({ state: 'Established', established: s1.established, stateSince: s1.stateSince, flaps: s1.flaps });
    expect(routesVia(ifHubS1)).toEqual(s1Routes);
    // spoke-2: never left Established, the same session, the same peer, the same routes.
    expect([...seen]).toEqual(['Established']);
    expect(neighbor('hub', 'spoke-2')).toMatchObject({ state: 'Established', established: s2.established, stateSince: s2.stateSince, flaps: s2.flaps });
    expect([...handshakes(ifHubS2).keys()]).toEqual(s2Peer);
    expect(routesVia(ifHubS2)).toEqual(s2Routes);
  }, 90_000);
});

describe('key rotation on an unnumbered tunnel: the link-locals follow the keys, the session restarts, the interface stays', () => {
  const lab = uniqueName('ku');
  const ifA = uniqueName('kua');
  const ifB = uniqueName('kub');
  const sock = (node: string): string => `/run/wgbgp/${lab}-${node}.sock`;
  const ns = (node: string): string => `wgbgp-${lab}-${node}`;
  const dir = copyLab(join(REPO_LABS, 'two-sites'), lab, { 'wg-a-b': ifA, 'wg-b-a': ifB, '/run/wgbgp/two-sites-': `/run/wgbgp/${lab}-` });
  for (const node of ['site-a', 'site-b']) {
    editYaml(join(dir, node, 'wgbgp.yaml'), (doc) => {
      for (const n of doc.neighbors as Record<string, unknown>[]) delete n.tunnel;
    });
  }
  const quiet = { print: () => undefined };
  const runtimeConfig = (node: string): string => readState(join(dir, '.lab-run'))?.nodes[node]?.config ?? '';
  const ifindex = (): number => (JSON.parse(execFileSync('ip', ['-n', ns('site-a'), '-j', 'link', 'show', 'dev', ifA], { encoding: 'utf8' })) as IpLink[])[0]!.ifindex;
  const siteB = (): NeighborJson => cli<NeighborJson[]>('neighbors', '--socket', sock('site-a'))[0]!;

  beforeAll(async () => {
    await labUp(dir, quiet);
    await until('site-a Established', () => allEstablished(sock('site-a')), 45_000);
  }, 60_000);

  afterAll(async () => {
    await labDown(dir, quiet);
    removeLabCopy(dir);
  }, 60_000);

  it("site-b's new key: new link-locals on both ends, one session restart, the same interface", async () => {
    const before = { ifindex: ifindex(), n: siteB() };
    const pubA = execFileSync('wg', ['pubkey'], { input: readFileSync(join(dir, 'site-a', 'private.key')), encoding: 'utf8' }).trim();
    const newKey = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
    const newPub = execFileSync('wg', ['pubkey'], { input: `${newKey}\n`, encoding: 'utf8' }).trim();
    const keyFile = (readFileSync(runtimeConfig('site-b'), 'utf8').match(/private-key-file:\s*(\S+)/) ?? [])[1]!;
    writeFileSync(keyFile, `${newKey}\n`, { mode: 0o600 });
    const t0 = performance.now();
    expect(await reload(sock('site-b'))).toContain('changed site-a');
    editYaml(runtimeConfig('site-a'), (doc) => {
      (doc.neighbors as Record<string, unknown>[])[0]!['public-key'] = newPub;
    });
    expect(await reload(sock('site-a'))).toContain('changed site-b');
    const ll = linkLocalPair(pubA, newPub);
    await until('the session back on the new link-locals', () => {
      const n = siteB();
      return n.state === 'Established' && n.peerAddress === ll.remote;
    }, 30_000);
    console.log(`key-rotation (unnumbered): session Established on the new link-locals ${Math.round(performance.now() - t0)} ms after site-b's reload`);
    expect(ifindex()).toBe(before.ifindex);
    expect(before.n.peerAddress).not.toBe(ll.remote);
    // A new session (the neighbor was rebuilt): its own counters, a new stateSince.
    expect(siteB().stateSince).not.toBe(before.n.stateSince);
    expect(execFileSync('ip', ['-n', ns('site-a'), '-6', '-o', 'addr', 'show', 'dev', ifA], { encoding: 'utf8' })).toContain(ll.local);
  }, 60_000);
});
