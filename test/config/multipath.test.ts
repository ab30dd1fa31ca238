/**
 * `bgp.multipath` (docs/configuration.md, "Multipath"): off by default,
 * max-paths 8, relax-as-path off; validated with path and reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigIssue } from '#config/index';

const DESIGN = readFileSync(new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname, 'utf8');

/** The design example with a top-level `bgp:` section. */
const withGlobalBgp = (section: string): string => `${DESIGN}\nbgp:\n${section}`;

function load(text: string) {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.config;
}

function errorsOf(text: string): Pick<ConfigIssue, 'path' | 'message'>[] {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (r.ok) throw new Error('expected the configuration to be rejected');
  return r.errors.map((e) => ({ path: e.path, message: e.message }));
}

describe('bgp.multipath', () => {
  it('absent: off, max-paths 8, relax-as-path false', () => {
    expect(load(DESIGN).multipath).toEqual({ enabled: false, maxPaths: 8, relaxAsPath: false });
    expect(load(withGlobalBgp('  require-policy: false\n')).multipath).toEqual({ enabled: false, maxPaths: 8, relaxAsPath: false });
  });

  it('on, with the other keys defaulted or given', () => {
    expect(load(withGlobalBgp('  multipath:\n    enabled: true\n')).multipath).toEqual({ enabled: true, maxPaths: 8, relaxAsPath: false });
    expect(load(withGlobalBgp('  multipath: { enabled: true, max-paths: 2, relax-as-path: true }\n')).multipath).toEqual({
      enabled: true,
      maxPaths: 2,
      relaxAsPath: true,
    });
  });

  it('bad values and unknown keys are rejected with their key path', () => {
    const zero = errorsOf(withGlobalBgp('  multipath: { enabled: true, max-paths: 0 }\n'));
    expect(zero).toEqual([expect.objectContaining({ path: 'bgp.multipath.max-paths' })]);
    expect(errorsOf(withGlobalBgp('  multipath: { max-paths: 65 }\n'))[0]?.path).toBe('bgp.multipath.max-paths');
    expect(errorsOf(withGlobalBgp('  multipath: { enabled: yes-please }\n'))[0]?.path).toBe('bgp.multipath.enabled');
    expect(errorsOf(withGlobalBgp('  multipath: { maximum-paths: 4 }\n'))[0]?.path).toMatch(/^bgp\.multipath/);
  });
});
