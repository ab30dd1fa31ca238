/**
 * Administrative shutdown against BIRD 2 over real WireGuard (wireguard-go):
 * the agent in A, BIRD in B, as in bird.test.ts. Our `wgbgp neighbor peer
 * shutdown --message …` must reach BIRD as Cease/Administrative Shutdown with
 * the RFC 9003 communication (BIRD shows it), keep the session down until
 * `enable`; `reset` sends Cease/Administrative Reset and the session comes
 * back; and BIRD's own `disable wgbgp "…"` communication shows in `neighbors`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, missingPrerequisite, neighbors, teardown, until, type Site } from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig, birdcAt, birdDiagnostics, createBirdSite, type Bird } from './helpers/bird.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-admin: skipped: ${skip}`);

const birdConfig = (log: string): string => birdBgpConfig(log);

interface NeighborView {
  state: string;
  lastError: string | null;
  prefixesReceived: number;
  adminShutdown: { message: string | null; since: string } | null;
  lastNotification: { direction: string; code: number; subcode: number; communication: string | null } | null;
}

describe.skipIf(skip !== null)('interop: shutdown communication (RFC 8203/9003) with BIRD 2', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;

  const birdc = (...args: string[]): string => birdcAt(bird!.ctl, ...args);
  const wgbgp = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const peer = (): NeighborView => JSON.parse(wgbgp('neighbors', 'peer', '--json').stdout) as NeighborView;
  const diagnostics = (): string => birdDiagnostics(site, bird);
  const established = (what: string): Promise<unknown> =>
    until(what, () => peer().state === 'Established' && /Established/.test(birdc('show', 'protocols', 'wgbgp')), 30_000, diagnostics);

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('ba', 41, {}, birdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('the session comes up', async () => {
    await established('Established both sides');
    expect(neighbors(site!)[0]?.state).toBe('Established');
  }, 40_000);

  it('RFC 9003: BIRD receives our Cease/Administrative Shutdown with the communication and shows it; we stay down', async () => {
    const message = 'Wartung bis 18:00 – zurück gleich ✓';
    const r = wgbgp('neighbor', 'peer', 'shutdown', '--message', message);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`peer: shut down (Cease/Administrative Shutdown sent with "${message}"); stays down until \`wgbgp neighbor peer enable\`\n`);
    expect(r.code).toBe(0);
    await until('BIRD saw the shutdown', () => /Received: Administrative shutdown/.test(birdc('show', 'protocols', 'all', 'wgbgp')), 10_000, diagnostics);
    const shown = birdc('show', 'protocols', 'all', 'wgbgp');
    // BIRD 2: "Last error: Received: Administrative shutdown" and the communication as the protocol's message.
    expect(shown).toMatch(/Last error:\s+Received: Administrative shutdown/);
    expect(shown).toContain(message);
    expect(readFileSync(bird!.log, 'utf8')).toContain(message);
    expect(peer()).toMatchObject({
      state: 'Idle',
      adminShutdown: { message },
      lastNotification: { direction: 'sent', code: 6, subcode: 2, communication: message },
    });
    // BIRD retries every 2 s (connect retry time); the agent refuses while shut down.
    await new Promise((res) => setTimeout(res, 6_000));
    expect(peer().state).toBe('Idle');
    expect(birdc('show', 'protocols', 'wgbgp')).not.toMatch(/Established/);
    const table = wgbgp('neighbors').stdout;
    expect(table).toMatch(/peer .* Idle \(shutdown\)/);
  }, 30_000);

  it('enable: the session comes back', async () => {
    const r = wgbgp('neighbor', 'peer', 'enable');
    expect(r.stdout).toMatch(/^peer: enabled; the session starts again/);
    await established('Established again after enable');
    expect(peer().adminShutdown).toBeNull();
  }, 40_000);

  it('RFC 4486 subcode 4: reset sends Cease/Administrative Reset with the communication; BIRD shows it and the session comes back', async () => {
    const r = wgbgp('neighbor', 'peer', 'reset', '--message', 'new import policy');
    expect(r.code).toBe(0);
    await until('BIRD saw the reset', () => /Administrative reset/.test(birdc('show', 'protocols', 'all', 'wgbgp')) || /Administrative reset/.test(readFileSync(bird!.log, 'utf8')), 10_000, diagnostics);
    expect(readFileSync(bird!.log, 'utf8')).toContain('new import policy');
    await established('Established again after the reset');
  }, 40_000);

  it("BIRD's own shutdown communication (`birdc disable wgbgp \"…\"`) is shown by `neighbors`, text and JSON", async () => {
    expect(birdc('disable', 'wgbgp', '"router moves to rack 7"')).toMatch(/wgbgp: disabled/);
    await until('the communication in neighbors', () => peer().lastNotification?.communication === 'router moves to rack 7', 10_000, diagnostics);
    expect(peer()).toMatchObject({ lastNotification: { direction: 'received', code: 6, subcode: 2 } });
    expect(peer().state).not.toBe('Established');
    const table = wgbgp('neighbors').stdout;
    expect(table).toContain('router moves to rack 7');
    expect(readFileSync(site!.agentLog, 'utf8')).toMatch(/the peer sent a shutdown communication.*router moves to rack 7|router moves to rack 7.*the peer sent a shutdown communication/);
    expect(birdc('enable', 'wgbgp')).toMatch(/wgbgp: enabled/);
    await established('Established after BIRD enabled its side');
  }, 60_000);
});
