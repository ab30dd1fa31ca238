/** `neighbors[].bgp.role` and `role-strict` (RFC 9234), validated like every other key. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigIssue, type NeighborBgpConfig } from '#config/index';

const DESIGN = readFileSync(new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname, 'utf8');

/** The design example (router AS 65001, neighbor site-b AS 65002) with `bgp:` extended by `extra` lines. */
function withBgp(extra: string, asn = 65002): string {
  const from = '      hold-time: 90\n';
  expect(DESIGN).toContain(from);
  return DESIGN.replace('      asn: 65002\n', `      asn: ${asn}\n`).replace(from, `${from}${extra}`);
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

describe('bgp.role (RFC 9234)', () => {
  it('absent: no role, not strict', () => {
    expect(bgpOf(DESIGN)).not.toHaveProperty('role');
    expect(bgpOf(DESIGN)).not.toHaveProperty('roleStrict');
  });

  it('each of the five roles, and strict mode', () => {
    for (const role of ['provider', 'rs', 'rs-client', 'customer', 'peer']) expect(bgpOf(withBgp(`      role: ${role}\n`))).toMatchObject({ role, roleStrict: false });
    expect(bgpOf(withBgp('      role: customer\n      role-strict: true\n'))).toMatchObject({ role: 'customer', roleStrict: true });
  });

  it('an unknown role is an error at its key', () => {
    const errors = errorsOf(withBgp('      role: upstream\n'));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toMatch(/neighbors\[0\]\.bgp\.role/);
  });

  it('role-strict without a role is an error', () => {
    const errors = errorsOf(withBgp('      role-strict: true\n'));
    expect(errors.map((e) => e.path)).toEqual([expect.stringMatching(/neighbors\[0\]\.bgp\.role-strict/)]);
  });

  it('RFC 9234 §4: a role on an iBGP neighbor is an error', () => {
    const errors = errorsOf(withBgp('      role: peer\n', 65001));
    expect(errors).toEqual([{ path: expect.stringMatching(/neighbors\[0\]\.bgp\.role/), message: expect.stringMatching(/eBGP/) }]);
  });
});
