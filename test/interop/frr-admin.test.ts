/**
 * Shutdown communications (RFC 8203, RFC 9003) with FRR 8 over real WireGuard
 * (wireguard-go), set up as in frr.test.ts: FRR receives ours (`wgbgp
 * neighbor peer shutdown --message …`) and logs it with the communication
 * (`show bgp neighbors` names only the Cease), and FRR's own (`neighbor X
 * shutdown message …`) shows in our `neighbors`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASN_B, CLI, TUN_A, missingPrerequisite, until, type Frr, type Site } from './helpers/site.js';
import { FRR_PREREQUISITES, createFrrSite, frrBgpdConfig, frrDiagnostics, frrPeerState, teardownFrrSite } from './helpers/frr.js';

const skip = missingPrerequisite(FRR_PREREQUISITES);
if (skip !== null) console.log(`interop/frr-admin: skipped: ${skip}`);

const bgpdConfig = (log: string): string => frrBgpdConfig(log);

interface NeighborView {
  state: string;
  lastError: string | null;
  adminShutdown: { message: string | null } | null;
  lastNotification: { direction: string; code: number; subcode: number; communication: string | null } | null;
}

describe.skipIf(skip !== null)('interop: shutdown communication (RFC 8203/9003) with FRR 8', () => {
  let site: Site | undefined;
  let frr: Frr | undefined;

  const vtysh = (...commands: string[]): string => frr!.vtysh(...commands);
  const frrState = (): string | undefined => frrPeerState(frr!);
  const wgbgp = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const peer = (): NeighborView => JSON.parse(wgbgp('neighbors', 'peer', '--json').stdout) as NeighborView;
  const bgpdLog = (): string => readFileSync(frr!.log, 'utf8');
  const diagnostics = (): string => frrDiagnostics(site, frr);
  const established = (what: string): Promise<unknown> =>
    until(what, () => peer().state === 'Established' && frrState() === 'Established', 30_000, diagnostics);

  beforeAll(async () => {
    ({ site, frr } = await createFrrSite('fa', 43, {}, bgpdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardownFrrSite(site, frr);
  }, 30_000);

  it('the session comes up', async () => {
    await established('Established both sides');
  }, 40_000);

  it('FRR receives our Cease/Administrative Shutdown and logs the communication; we stay down until enable', async () => {
    const message = 'moving to new hardware ✓';
    expect(wgbgp('neighbor', 'peer', 'shutdown', '--message', message).code).toBe(0);
    // FRR 8.4 logs the communication with the octets past ASCII escaped (✓ is e2 9c 93 in UTF-8).
    const logged = '%NOTIFICATION: received from neighbor 10.255.0.0 6/2 (Cease/Administrative Shutdown) "moving to new hardware \\xe2\\x9c\\x93"';
    await until('FRR logged the shutdown with its communication', () => frrState() !== 'Established' && bgpdLog().includes(logged), 10_000, diagnostics);
    expect(vtysh(`show bgp neighbors ${TUN_A.v4}`)).toMatch(/Last reset .*Notification received \(Cease\/Administrative Shutdown\)/);
    // FRR retries every 2 s (timers connect 2); the agent refuses while shut down.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(peer()).toMatchObject({ state: 'Idle', adminShutdown: { message } });
    expect(wgbgp('neighbor', 'peer', 'enable').code).toBe(0);
    await established('Established again after enable');
  }, 60_000);

  it("FRR's own shutdown communication (`neighbor X shutdown message …`) shows in our neighbors", async () => {
    vtysh('configure terminal', `router bgp ${ASN_B}`, `neighbor ${TUN_A.v4} shutdown message maintenance by FRR`);
    await until('the communication in neighbors', () => peer().lastNotification?.communication === 'maintenance by FRR', 10_000, diagnostics);
    expect(peer()).toMatchObject({ lastNotification: { direction: 'received', code: 6, subcode: 2 } });
    expect(wgbgp('neighbors').stdout).toContain('maintenance by FRR');
    vtysh('configure terminal', `router bgp ${ASN_B}`, `no neighbor ${TUN_A.v4} shutdown`);
    await established('Established after FRR enabled its side');
  }, 60_000);
});
