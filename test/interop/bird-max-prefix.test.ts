/**
 * Max-prefix against BIRD 2 over real WireGuard (wireguard-go), as in
 * bird.test.ts: BIRD announces five IPv4 prefixes to an agent whose neighbor
 * has `max-prefix: {ipv4: 3, action: restart, restart-after: 1}`. The agent
 * must tear the session down with Cease/Maximum Number of Prefixes Reached
 * (RFC 4486 §4: AFI 1, SAFI 1, limit 3), which BIRD shows; stay down while
 * BIRD retries; and connect again after the minute (BIRD then announcing
 * fewer, the session stays up).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, LAN_B, agentRoutes, missingPrerequisite, teardown, until, type Site } from './helpers/site.js';
import { BIRD_PREREQUISITES, birdBgpConfig, birdcAt, birdDiagnostics, createBirdSite, type Bird } from './helpers/bird.js';

const skip = missingPrerequisite(BIRD_PREREQUISITES);
if (skip !== null) console.log(`interop/bird-max-prefix: skipped: ${skip}`);

const MANY = [1, 2, 3, 4, 5].map((i) => `10.20.${i}.0/24`);

const birdConfig = (log: string): string =>
  birdBgpConfig(log, {
    protocols: [
      `protocol static lan4 { ipv4; route ${LAN_B.v4} via "lan0"; }`,
      '# Five more than the agent\'s limit of three: switched off by the last test.',
      `protocol static many4 { ipv4; ${MANY.map((p) => `route ${p} via "lan0";`).join(' ')} }`,
    ],
  });

interface NeighborView {
  state: string;
  lastError: string | null;
  established: number;
  maxPrefix: {
    action: string;
    ipv4: { limit: number; accepted: number } | null;
    exceeded: { family: string; limit: number; accepted: number } | null;
    restartAt: string | null;
  } | null;
}

describe.skipIf(skip !== null)('interop: max-prefix (RFC 4486 §4) with BIRD 2', () => {
  let site: Site | undefined;
  let bird: Bird | undefined;
  let tornDownAt = 0;

  const birdc = (...args: string[]): string => birdcAt(bird!.ctl, ...args);
  const peer = (): NeighborView => {
    const r = spawnSync(process.execPath, [CLI, 'neighbors', 'peer', '--json', '--socket', site!.sock], { encoding: 'utf8', timeout: 10_000 });
    return JSON.parse(r.stdout) as NeighborView;
  };
  const diagnostics = (): string => birdDiagnostics(site, bird);

  beforeAll(async () => {
    ({ site, bird } = await createBirdSite('bm', 42, { bgp: { 'max-prefix': { ipv4: 3, action: 'restart', 'restart-after': 1 } } }, birdConfig));
  }, 30_000);

  afterAll(async () => {
    await teardown(site);
  }, 30_000);

  it('six prefixes against a limit of three: the agent sends Cease 6/1 with AFI 1, SAFI 1, limit 3; BIRD shows it', async () => {
    const seen = await until('the max-prefix teardown', () => {
      const p = peer();
      return p.maxPrefix?.restartAt ? p : null;
    }, 30_000, diagnostics);
    tornDownAt = Date.now();
    expect(seen).toMatchObject({
      state: 'Idle',
      lastError: 'sent 6/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 3',
      maxPrefix: { action: 'restart', exceeded: { family: 'ipv4-unicast', limit: 3 } },
    });
    expect(seen.maxPrefix!.exceeded!.accepted).toBeGreaterThan(3);
    await until('BIRD saw the Cease', () => /Maximum number of prefixes reached/i.test(birdc('show', 'protocols', 'all', 'wgbgp')), 10_000, diagnostics);
    expect(birdc('show', 'protocols', 'all', 'wgbgp')).toMatch(/Last error:\s+Received: Maximum number of prefixes reached/i);
    // BIRD logs the data in hex: AFI 0001, SAFI 01, upper bound 00000003 (RFC 4486 §4).
    expect(readFileSync(bird!.log, 'utf8')).toMatch(/Received: Maximum number of prefixes reached: 00010100000003/);
    // BIRD's routes went with the session (the tunnel's host route and the endpoint pin stay).
    const learned = new Set([...MANY, LAN_B.v4]);
    await until('no learned route left', () => !agentRoutes(site!, '-4').some((r) => learned.has(r.dst)), 10_000, diagnostics);
  }, 40_000);

  it('the session stays down while BIRD retries (connect retry 2 s)', async () => {
    await new Promise((r) => setTimeout(r, 8_000));
    const p = peer();
    expect(p.state).toBe('Idle');
    expect(p.established).toBe(1);
    expect(birdc('show', 'protocols', 'wgbgp')).not.toMatch(/Established/);
    expect(readFileSync(site!.agentLog, 'utf8')).toContain('max-prefix: limit exceeded: Cease/Maximum Number of Prefixes Reached sent');
  }, 20_000);

  it('after restart-after (1 minute) the agent connects again; with BIRD down to one prefix the session stays up', async () => {
    expect(birdc('disable', 'many4')).toMatch(/many4: disabled/);
    const up = await until('Established again after the hold-down', () => (peer().state === 'Established' ? Date.now() : null), 90_000, diagnostics);
    // Not before the minute was up (the clock of the test runs a little after the agent's).
    expect(up - tornDownAt).toBeGreaterThan(50_000);
    await new Promise((r) => setTimeout(r, 3_000));
    const p = peer();
    expect(p).toMatchObject({ state: 'Established', established: 2, maxPrefix: { ipv4: { limit: 3, accepted: 1 }, exceeded: null, restartAt: null } });
    expect(readFileSync(site!.agentLog, 'utf8')).toContain('max-prefix: hold-down over, the session starts again');
  }, 100_000);
});
