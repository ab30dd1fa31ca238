/**
 * The full-table regression guard (issue 10): 100 000 routes from the replay
 * feeder (src/replay: the table pre-encoded, sent as fast as TCP allows, so
 * the receivers' own speed shows) over a wireguard-go tunnel into the kernel
 * FIB, received by the agent and by BIRD 2 in the same run
 * (bench/lib/converge-run.ts, the bench's own phases). Absolute times vary with the machine; the ratios against BIRD do
 * much less, so the guard compares them with the ones recorded in
 * bench/baseline.json and fails only when one is worse than twice the
 * recorded ratio (a regression alarm, not a timed test):
 *
 *   install  agent's time to all N in the FIB / BIRD's
 *   memory   agent's peak RSS / BIRD's (per route: same N, same feeder)
 *
 * It also checks failover correctness at 100 000: when the session drops
 * (the tunnel's peer is gone), no route is left pointing into the tunnel.
 *
 *   WGBGP_GUARD_RECORD=1 npx vitest run test/bench/guard.test.ts   # writes bench/baseline.json
 *
 * Needs root, bird and wireguard-go: skipped without them, except under
 * CI=true, where a missing prerequisite fails.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFeed } from '../../bench/lib/converge-lab.js';
import { runOne, type RunResult } from '../../bench/lib/converge-run.js';
import { missingPrerequisite } from '../interop/helpers/site.js';

const CI = process.env.CI === 'true';
const RECORD = process.env.WGBGP_GUARD_RECORD === '1';
const N = 100_000;
const BASELINE = join(import.meta.dirname, '..', '..', 'bench', 'baseline.json');
const missing = missingPrerequisite(['bird', 'birdc', 'wireguard-go', 'wg']);
if (missing !== null && !CI) console.log(`bench/guard: skipped: ${missing}`);

interface Baseline {
  n: number;
  /** Agent's start time to all N in the FIB / BIRD's. */
  installRatio: number;
  /** Agent's peak RSS / BIRD's. */
  memoryRatio: number;
  recorded: string;
  figures: string;
}

describe.skipIf(missing !== null && !CI)('full-table regression guard against BIRD (100 000 routes, ratios vs bench/baseline.json)', () => {
  it('install time and memory relative to BIRD stay within twice the recorded ratios; a session drop leaves no route on the dead tunnel', { timeout: 420_000 }, async () => {
    if (missing !== null) throw new Error(`bench/guard needs ${missing}`);
    const feed = makeFeed(N, 0.1);
    const wgbgp = await runOne('wgbgp', feed, { phases: ['start', 'down'], feeder: 'replay' });
    const bird = await runOne('bird', feed, { phases: ['start'], feeder: 'replay' });
    const failed = [wgbgp, bird].filter((r) => r.error !== undefined);
    expect(failed.map((r) => `${r.receiver}: ${r.error}`)).toEqual([]);
    const ms = (r: RunResult): number => r.phases.start!.ms!;
    const installRatio = ms(wgbgp) / ms(bird);
    const memoryRatio = wgbgp.rssRx! / bird.rssRx!;
    const figures =
      `${N} routes: agent ${(ms(wgbgp) / 1000).toFixed(2)} s to the FIB, peak RSS ${(wgbgp.rssRx! / 1024).toFixed(1)} MB; ` +
      `BIRD ${(ms(bird) / 1000).toFixed(2)} s, ${(bird.rssRx! / 1024).toFixed(1)} MB; ` +
      `ratios install ${installRatio.toFixed(2)}, memory ${memoryRatio.toFixed(2)}; session down -> none left in ${(wgbgp.phases.down!.ms! / 1000).toFixed(2)} s`;
    if (RECORD) {
      const b: Baseline = { n: N, installRatio: round(installRatio), memoryRatio: round(memoryRatio), recorded: new Date().toISOString().slice(0, 10), figures };
      writeFileSync(BASELINE, `${JSON.stringify(b, null, 2)}\n`);
    }
    const base = JSON.parse(readFileSync(BASELINE, 'utf8')) as Baseline;
    console.log(`bench/guard: ${figures} (baseline: install ${base.installRatio}, memory ${base.memoryRatio}, recorded ${base.recorded})`);
    expect(base.n).toBe(N);
    expect(installRatio, `install ratio ${installRatio.toFixed(2)} against BIRD; recorded ${base.installRatio}`).toBeLessThanOrEqual(2 * base.installRatio);
    expect(memoryRatio, `memory ratio ${memoryRatio.toFixed(2)} against BIRD; recorded ${base.memoryRatio}`).toBeLessThanOrEqual(2 * base.memoryRatio);
    // Failover correctness: the down phase ends only when an exact count finds none of the fed routes left.
    expect(wgbgp.phases.down?.ms).not.toBeNull();
  });
});

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
