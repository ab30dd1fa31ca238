/** `neighbors[].bgp.long-lived-stale-time` (RFC 9494), validated like every other key. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigIssue, type NeighborBgpConfig } from '#config/index';

const DESIGN = readFileSync(new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname, 'utf8');

/** The design example with `bgp:` of its first neighbor extended by `extra` lines. */
function withBgp(extra: string): string {
  const from = '      hold-time: 90\n';
  expect(DESIGN).toContain(from);
  return DESIGN.replace(from, `${from}${extra}`);
}

function bgpOf(text: string): NeighborBgpConfig {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.config.neighbors[0]!.bgp!;
}

function errorsOf(text: string): Pick<ConfigIssue, 'path' | 'message'>[] {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (r.ok) throw new Error('expected the configuration to be rejected');
  return r.errors.map((e) => ({ path: e.path, message: e.message }));
}

describe('bgp.long-lived-stale-time (RFC 9494)', () => {
  it('absent: 0, long-lived graceful restart off', () => {
    expect(bgpOf(DESIGN).longLivedStaleTime).toBe(0);
  });

  it('a time in seconds, up to the 24 bits of RFC 9494 §3', () => {
    expect(bgpOf(withBgp('      long-lived-stale-time: 86400\n')).longLivedStaleTime).toBe(86400);
    expect(bgpOf(withBgp('      long-lived-stale-time: 16777215\n')).longLivedStaleTime).toBe(16777215);
  });

  it('beyond 24 bits, negative or not a whole number is an error at its key', () => {
    for (const v of ['16777216', '-1', '1.5', 'forever']) {
      const errors = errorsOf(withBgp(`      long-lived-stale-time: ${v}\n`));
      expect(errors.map((e) => e.path)).toEqual([expect.stringMatching(/neighbors\[0\]\.bgp\.long-lived-stale-time/)]);
    }
  });

  it('RFC 9494 §4.1: without graceful restart it is an error that says why', () => {
    const errors = errorsOf(withBgp('      graceful-restart: false\n      long-lived-stale-time: 3600\n'));
    expect(errors).toEqual([{ path: expect.stringMatching(/neighbors\[0\]\.bgp\.long-lived-stale-time/), message: expect.stringMatching(/graceful-restart/) }]);
    expect(bgpOf(withBgp('      graceful-restart: false\n      long-lived-stale-time: 0\n')).longLivedStaleTime).toBe(0);
  });
});
