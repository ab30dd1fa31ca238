/** `neighbors[].bgp.add-path` (RFC 7911), validated like every other key. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigIssue, type NeighborBgpConfig } from '#config/index';

const DESIGN = readFileSync(new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname, 'utf8');

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

describe('bgp.add-path (RFC 7911)', () => {
  it('absent: off both ways', () => {
    expect(bgpOf(DESIGN).addPath).toEqual({ receive: false, send: 0 });
  });

  it('receive, and send up to N paths (false: off)', () => {
    expect(bgpOf(withBgp('      add-path:\n        receive: true\n')).addPath).toEqual({ receive: true, send: 0 });
    expect(bgpOf(withBgp('      add-path:\n        receive: true\n        send: 4\n')).addPath).toEqual({ receive: true, send: 4 });
    expect(bgpOf(withBgp('      add-path:\n        send: false\n')).addPath).toEqual({ receive: false, send: 0 });
  });

  it('send must be false or 1..16, receive a boolean, and no other key', () => {
    for (const bad of ['send: 0', 'send: 17', 'send: true', 'receive: 2', 'both: true']) {
      const errors = errorsOf(withBgp(`      add-path:\n        ${bad}\n`));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.path.startsWith('neighbors[0].bgp.add-path')).toBe(true);
    }
  });
});
