/**
 * Shutdown communications (RFC 8203, RFC 9003) with GoBGP 3 over real
 * WireGuard (wireguard-go), set up as in gobgp.test.ts: GoBGP receives ours
 * (`wgbgp neighbor peer shutdown --message …`) and logs it, and GoBGP's own
 * (`gobgp neighbor X shutdown --reason …`) shows in our `neighbors`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, LAN_B, TUN_A, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { GOBGP_PREREQUISITES, createGobgpSite, gobgpDiagnostics, gobgpdConfig, gobgpEstablished, gobgpSessionState, type Gobgp } from './helpers/gobgp.js';

const skip = missingPrerequisite(GOBGP_PREREQUISITES);
if (skip !== null) console.log(`interop/gobgp-admin: skipped: ${skip}`);

interface NeighborView {
  state: string;
  adminShutdown: { message: string | null } | null;
  lastNotification: { direction: string; code: number; subcode: number; communication: string | null } | null;
}

describe.skipIf(skip !== null)('interop: shutdown communication (RFC 8203/9003) with GoBGP 3', () => {
  let site: Site | undefined;
  let b: Gobgp | undefined;

  const gobgp = (...args: string[]): string => b!.gobgp(...args);
  const gobgpState = (): string => gobgpSessionState(b!);
  const gobgpUp = (): boolean => gobgpEstablished(b!);
  const wgbgp = (...args: string[]): { code: number | null; stdout: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return { code: r.status, stdout: r.stdout };
  };
  const peer = (): NeighborView => JSON.parse(wgbgp('neighbors', 'peer', '--json').stdout) as NeighborView;
  const diagnostics = (): string => gobgpDiagnostics(site, b);
  const established = (what: string): Promise<unknown> => until(what, () => peer().state === 'Established' && gobgpUp(), 30_000, diagnostics);

  beforeAll(async () => {
    ({ site, b } = await createGobgpSite('ga', 44, {}, gobgpdConfig(), { setup: (g) => g.gobgp('global', 'rib', '-a', 'ipv4', 'add', LAN_B.v4) }));
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
    await until('GoBGP logged the communication', () => !gobgpUp() && readFileSync(b!.log, 'utf8').includes(`Communicated-Reason="${message}"`), 10_000, diagnostics);
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
