/**
 * design.md "Identity": a BGP peer is whoever holds the WireGuard key of its
 * tunnel, nobody else. An underlay host that takes the neighbor's tunnel
 * address (numbered) or its derived link-local (unnumbered, the key is public)
 * and connects to the agent from the underlay gets no OPEN, and nothing it
 * could say reaches the RIB: the neighbor's listener is bound to the tunnel
 * interface, and the catch-all refuses the rest, counted and logged once per
 * source per minute (issue: 5000 connections gave 5000 log lines).
 *
 * The agent runs in A with one neighbor whose tunnel has no peer at all
 * (B never starts one): B is just a host on the underlay.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkLocalPair } from '#wg/linklocal';
import type { RouteJson, StatusJson } from '#api/types';
import {
  cli,
  CLI,
  createSite,
  missingPrerequisite,
  neighbors,
  startAgent,
  teardown,
  TUN_A,
  TUN_B,
  until,
  type Site,
} from '../interop/helpers/site.js';
import { execIn, spawnIn } from './helpers/netns.js';

const skip = missingPrerequisite([]);
const ATTEMPTS = 30;

/**
 * One TCP connection from the attacker in `ns` to `host` port 179 from
 * `source`; what it got back. Runs node inside the namespace.
 */
async function spoof(ns: string, host: string, source: string): Promise<{ connected: boolean; bytes: number; end: string }> {
  const script = `
    const net = require('node:net');
    const s = net.connect({ host: ${JSON.stringify(host)}, port: 179, localAddress: ${JSON.stringify(source)} });
    let bytes = 0, connected = false;
    const done = (end) => { console.log(JSON.stringify({ connected, bytes, end })); process.exit(0); };
    s.on('connect', () => { connected = true; });
    s.on('data', (d) => { bytes += d.length; });
    s.on('error', (e) => done(e.code || e.message));
    s.on('close', () => done('close'));
    setTimeout(() => done('timeout'), 3000);
  `;
  const r = await execIn(ns, [process.execPath, '-e', script]);
  return JSON.parse(r.stdout.trim()) as { connected: boolean; bytes: number; end: string };
}

function refusedLogLines(site: Site): number {
  return readFileSync(site.agentLog, 'utf8').split('\n').filter((l) => l.includes('BGP connection refused')).length;
}

describe.skipIf(skip !== null)('identity: an underlay host posing as the peer gets no OPEN', () => {
  describe('numbered neighbor, its tunnel address routed over the underlay', () => {
    let site: Site | undefined;

    beforeAll(async () => {
      site = await createSite('idn', 14);
      startAgent(site);
      await until('agent answers', () => neighbors(site!).length === 1, 15_000);
      // The attacker holds the neighbor's tunnel address on its underlay interface, and A routes
      // that address over the underlay (an operator's route that wins by metric, or the tunnel is down).
      await execIn(site.nsB, `ip addr add ${TUN_B.v4}/32 dev eth1 && ip route add ${TUN_A.v4}/32 via ${site.underlayA}`);
      await execIn(site.nsA, `ip route add ${TUN_B.v4}/32 via ${site.underlayB} metric 1`);
    }, 30_000);

    afterAll(async () => {
      await teardown(site);
    }, 30_000);

    it(`${ATTEMPTS} connections from ${TUN_B.v4}: each reset without a byte of BGP, counted, logged once`, async () => {
      const s = site!;
      const before = cli<StatusJson>(s, 'status').bgp.refused.total;
      for (let i = 0; i < ATTEMPTS; i++) {
        const r = await spoof(s.nsB, TUN_A.v4, TUN_B.v4);
        expect(r.bytes).toBe(0);
        expect(['ECONNRESET', 'close']).toContain(r.end);
      }
      const status = cli<StatusJson>(s, 'status');
      expect(status.bgp.refused.total - before).toBe(ATTEMPTS);
      expect(status.bgp.refused.notThroughTunnel).toBeGreaterThanOrEqual(ATTEMPTS);
      expect(status.bgp.refused.lastSource).toBe(TUN_B.v4);
      expect(refusedLogLines(s)).toBe(1);
      const [n] = neighbors(s);
      expect(n).toMatchObject({ state: expect.not.stringMatching(/^(OpenSent|OpenConfirm|Established)$/), prefixesReceived: 0 });
      expect(cli<RouteJson[]>(s, 'routes').filter((r) => r.source === 'bgp')).toEqual([]);
    });
  });

  describe('unnumbered neighbor: its derived link-local on the underlay', () => {
    let site: Site | undefined;

    beforeAll(async () => {
      site = await createSite('idu', 15, { unnumbered: true });
      startAgent(site);
      await until('agent answers', () => neighbors(site!).length === 1, 15_000);
    }, 30_000);

    afterAll(async () => {
      await teardown(site);
    }, 30_000);

    it('the derived peer link-local connecting to our underlay link-local is refused without an OPEN', async () => {
      const s = site!;
      const ll = linkLocalPair(s.pubA, s.pubB);
      await execIn(s.nsB, ['ip', 'addr', 'add', `${ll.remote}/64`, 'dev', 'eth1', 'nodad']);
      const out = (await execIn(s.nsA, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth1', 'scope', 'link'])).stdout;
      const underlayLl = /inet6 (fe80::[0-9a-f:]+)\//.exec(out)?.[1];
      expect(underlayLl).toBeDefined();
      for (let i = 0; i < 5; i++) {
        const r = await spoof(s.nsB, `${underlayLl!}%eth1`, `${ll.remote}%eth1`);
        expect(r.bytes).toBe(0);
        expect(['ECONNRESET', 'close']).toContain(r.end);
      }
      const status = cli<StatusJson>(s, 'status');
      expect(status.bgp.refused.notThroughTunnel).toBe(5);
      expect(status.bgp.refused.lastSource).toBe(ll.remote);
      expect(neighbors(s)[0]!.prefixesReceived).toBe(0);
      expect(cli<RouteJson[]>(s, 'routes').filter((r) => r.source === 'bgp')).toEqual([]);
      expect(refusedLogLines(s)).toBe(1);
    });
  });

  describe('port 179 taken by another process', () => {
    let site: Site | undefined;

    beforeAll(async () => {
      site = await createSite('idp', 16);
    }, 30_000);

    afterAll(async () => {
      await teardown(site);
    }, 30_000);

    it('the agent stops at start with a clear error instead of running half started', async () => {
      const s = site!;
      spawnIn(s.nsA, [process.execPath, '-e', "require('node:net').createServer().listen(179, '0.0.0.0')"], { log: `${s.dir}/squatter.log` });
      await until('the other process listens on 179', async () => (await execIn(s.nsA, ['ss', '-Htln', 'sport = :179'])).stdout.includes(':179'), 5_000);
      const r = await execIn(s.nsA, [process.execPath, CLI, 'agent', '--config', s.agentConfig], { check: false, timeoutMs: 15_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/BGP port 179 is in use by another process/);
      // As a JSON line too (level 60, fatal), for a log shipper reading the journal.
      const fatal = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; err?: string }).find((l) => l.level === 60);
      expect(fatal).toMatchObject({ msg: 'agent failed to start', err: expect.stringMatching(/BGP port 179 is in use/) });
      // Nothing of it is left running: no control socket answers.
      expect(() => neighbors(s)).toThrow();
    });
  });
});
