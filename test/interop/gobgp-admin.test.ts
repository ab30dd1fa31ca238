/**
 * Shutdown communications (RFC 8203, RFC 9003) with GoBGP 3 over real
 * WireGuard (wireguard-go), set up as in gobgp.test.ts: GoBGP receives ours
 * (`wgbgp neighbor peer shutdown --message …`) and logs it, and GoBGP's own
 * (`gobgp neighbor X shutdown --reason …`) shows in our `neighbors`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnIn } from '../lab/helpers/netns.js';
import {
  ASN_A,
  ASN_B,
  CLI,
  HOLD_TIME,
  LAN_B,
  TUN_A,
  createSite,
  missingPrerequisite,
  startAgent,
  startPeerTunnel,
  tail,
  teardown,
  until,
  type Site,
} from './helpers/site.js';

const skip = missingPrerequisite(['gobgp', 'gobgpd']);
if (skip !== null) console.log(`interop/gobgp-admin: skipped: ${skip}`);

function gobgpdConfig(): string {
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
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
}

interface NeighborView {
  state: string;
  adminShutdown: { message: string | null } | null;
  lastNotification: { direction: string; code: number; subcode: number; communication: string | null } | null;
}

describe.skipIf(skip !== null)('interop: shutdown communication (RFC 8203/9003) with GoBGP 3', () => {
  let site: Site | undefined;
  let api = '';
  let gobgpdLog = '';

  const gobgp = (...args: string[]): string =>
    execFileSync('gobgp', ['--target', `unix://${api}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
  const gobgpState = (): string => String((JSON.parse(gobgp('-j', 'neighbor', TUN_A.v4)) as { state?: { session_state?: string | number } }).state?.session_state ?? '');
  const gobgpUp = (): boolean => /established|^6$/i.test(gobgpState());
  const wgbgp = (...args: string[]): { code: number | null; stdout: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return { code: r.status, stdout: r.stdout };
  };
  const peer = (): NeighborView => JSON.parse(wgbgp('neighbors', 'peer', '--json').stdout) as NeighborView;
  const diagnostics = (): string => {
    let neighbor = '';
    try {
      neighbor = gobgp('neighbor', TUN_A.v4);
    } catch (e) {
      neighbor = String(e);
    }
    return [neighbor, tail(site!.agentLog), tail(gobgpdLog)].join('\n');
  };
  const established = (what: string): Promise<unknown> => until(what, () => peer().state === 'Established' && gobgpUp(), 30_000, diagnostics);

  beforeAll(async () => {
    site = await createSite('ga', 44, { bgp: { 'ttl-security': false } });
    api = join(site.dir, 'gobgp.sock');
    gobgpdLog = join(site.dir, 'gobgpd.log');
    await startPeerTunnel(site);
    const conf = join(site.dir, 'gobgpd.toml');
    writeFileSync(conf, gobgpdConfig());
    spawnIn(site.nsB, ['gobgpd', '-f', conf, '-t', 'toml', '-p', '--pprof-disable', `--api-hosts=unix://${api}`], { log: gobgpdLog });
    await until('gobgpd API socket', () => existsSync(api), 5_000, () => tail(gobgpdLog));
    await until('gobgpd answers', () => gobgp('global').includes(String(ASN_B)), 5_000, () => tail(gobgpdLog));
    gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4);
    startAgent(site);
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('the session comes up', async () => {
    await established('Established both sides');
  }, 40_000);

  it('GoBGP receives our Cease/Administrative Shutdown with the communication; we stay down until enable', async () => {
    const message = 'moving to new hardware ✓';
    expect(wgbgp('neighbor', 'peer', 'shutdown', '--message', message).code).toBe(0);
    await until('GoBGP logged the communication', () => !gobgpUp() && readFileSync(gobgpdLog, 'utf8').includes(`Communicated-Reason="${message}"`), 10_000, diagnostics);
    // GoBGP retries every 2 s (connect-retry); the agent refuses while shut down.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(peer()).toMatchObject({ state: 'Idle', adminShutdown: { message } });
    expect(wgbgp('neighbor', 'peer', 'enable').code).toBe(0);
    await established('Established again after enable');
  }, 60_000);

  it("GoBGP's own shutdown communication (`gobgp neighbor X shutdown --reason …`) shows in our neighbors", async () => {
    // GoBGP 3.10 sends the communication with `shutdown` (which it calls deprecated); `disable --reason` sends a Cease without it (seen here).
    gobgp('neighbor', '--reason', 'maintenance by GoBGP', TUN_A.v4, 'shutdown');
    await until('the communication in neighbors', () => peer().lastNotification?.communication === 'maintenance by GoBGP', 10_000, diagnostics);
    expect(peer()).toMatchObject({ lastNotification: { direction: 'received', code: 6, subcode: 2 } });
    expect(wgbgp('neighbors').stdout).toContain('maintenance by GoBGP');
    gobgp('neighbor', TUN_A.v4, 'enable');
    await established('Established after GoBGP enabled its side');
  }, 60_000);
});
