/** `bfd` (top level) and `neighbors[].bfd` (issue 12): opt-in, milliseconds, the neighbor's keys over the defaults. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type NeighborConfig } from '#config/index';

const DESIGN = readFileSync(new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname, 'utf8');

/** The design example with `top` added at the top level and `own` as the neighbor's `bfd:` lines. */
function config(top: string, own: string): string {
  const anchor = '    bgp:\n';
  expect(DESIGN).toContain(anchor);
  return `${top}${DESIGN.replace(anchor, `${own}${anchor}`)}`;
}

function neighborOf(text: string): NeighborConfig {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.config.neighbors[0]!;
}

function errorsOf(text: string): string[] {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (r.ok) throw new Error('expected the configuration to be rejected');
  return r.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('bfd configuration', () => {
  it('off unless asked for, as in BIRD and FRR (the peer must be configured too)', () => {
    expect(neighborOf(DESIGN).bfd).toBeNull();
  });

  it('bfd: true gives the defaults, 300 ms × 3', () => {
    expect(neighborOf(config('', '    bfd: true\n')).bfd).toEqual({ minRx: 300, minTx: 300, multiplier: 3 });
  });

  it('a mapping turns it on and changes only its keys', () => {
    expect(neighborOf(config('', '    bfd:\n      min-rx: 100\n')).bfd).toEqual({ minRx: 100, minTx: 300, multiplier: 3 });
    expect(neighborOf(config('', '    bfd:\n      enabled: false\n      min-rx: 100\n')).bfd).toBeNull();
  });

  it('the top-level block sets the defaults for every neighbor; a neighbor may opt out', () => {
    const top = 'bfd:\n  enabled: true\n  min-tx: 200\n  multiplier: 5\n';
    expect(neighborOf(config(top, '')).bfd).toEqual({ minRx: 300, minTx: 200, multiplier: 5 });
    expect(neighborOf(config(top, '    bfd: false\n')).bfd).toBeNull();
    expect(neighborOf(config(top, '    bfd:\n      multiplier: 2\n')).bfd).toEqual({ minRx: 300, minTx: 200, multiplier: 2 });
  });

  it('intervals out of 10..60000 ms, a multiplier of 0 and unknown keys are errors at their key', () => {
    expect(errorsOf(config('', '    bfd:\n      min-rx: 5\n'))).toEqual([expect.stringMatching(/neighbors\[0\]\.bfd.*min-rx/)]);
    expect(errorsOf(config('', '    bfd:\n      multiplier: 0\n'))).toEqual([expect.stringMatching(/multiplier/)]);
    expect(errorsOf(config('bfd:\n  interval: 100\n', ''))[0]).toMatch(/bfd\.interval: unknown key/);
  });

  it('BFD on an OSPF-only neighbor is an error: it acts on the BGP session', () => {
    const ospfOnly = DESIGN.replace(/    bgp:\n(      .*\n)+/, '    ospf:\n      area: 0\n    bfd: true\n');
    expect(errorsOf(`ospf: {}\n${ospfOnly}`)).toEqual([expect.stringMatching(/neighbors\[0\]\.bfd: needs bgp/)]);
  });
});
