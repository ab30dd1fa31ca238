/**
 * `neighbors[].bgp.max-prefix` (RFC 4486 §4): limits per family, the action,
 * and the defaults of issue 11 (eBGP 2 M IPv4 / 500 k IPv6, warning only;
 * iBGP no limit), validated like every other key (path and reason).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type ConfigIssue, type MaxPrefixConfig } from '#config/index';

const DESIGN = readFileSync(new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname, 'utf8');

/** The design example (router AS 65001, neighbor site-b AS 65002) with `bgp:` extended by `extra` lines. */
function withBgp(extra: string, asn = 65002): string {
  const from = '      hold-time: 90\n';
  expect(DESIGN).toContain(from);
  return DESIGN.replace('      asn: 65002\n', `      asn: ${asn}\n`).replace(from, `${from}${extra}`);
}

function maxPrefixOf(text: string): MaxPrefixConfig | null {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.config.neighbors[0]!.bgp!.maxPrefix;
}

function errorsOf(text: string): Pick<ConfigIssue, 'path' | 'message'>[] {
  const r = parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
  if (r.ok) throw new Error('expected the configuration to be rejected');
  return r.errors.map((e) => ({ path: e.path, message: e.message }));
}

describe('bgp.max-prefix', () => {
  it('absent: eBGP gets 2 000 000 IPv4 and 500 000 IPv6, warning only; iBGP no limit', () => {
    expect(maxPrefixOf(DESIGN)).toEqual({ ipv4: 2_000_000, ipv6: 500_000, action: 'warning', restartAfter: 5 });
    expect(maxPrefixOf(withBgp('', 65001))).toBeNull();
  });

  it('a limit per family, action restart after N minutes; a family left out keeps the eBGP default', () => {
    const text = withBgp('      max-prefix:\n        ipv4: 1000\n        action: restart\n        restart-after: 2\n');
    expect(maxPrefixOf(text)).toEqual({ ipv4: 1000, ipv6: 500_000, action: 'restart', restartAfter: 2 });
    expect(maxPrefixOf(withBgp('      max-prefix: { ipv6: 10, action: restart }\n'))).toEqual({
      ipv4: 2_000_000,
      ipv6: 10,
      action: 'restart',
      restartAfter: 5,
    });
  });

  it('false switches a family, or max-prefix as a whole, off; iBGP may set a limit', () => {
    expect(maxPrefixOf(withBgp('      max-prefix: { ipv6: false }\n'))).toEqual({ ipv4: 2_000_000, ipv6: null, action: 'warning', restartAfter: 5 });
    expect(maxPrefixOf(withBgp('      max-prefix: false\n'))).toBeNull();
    expect(maxPrefixOf(withBgp('      max-prefix: { ipv4: false, ipv6: false }\n'))).toBeNull();
    expect(maxPrefixOf(withBgp('      max-prefix: { ipv4: 50 }\n', 65001))).toEqual({ ipv4: 50, ipv6: null, action: 'warning', restartAfter: 5 });
  });

  it('bad values are errors with their key path and reason', () => {
    const at = (k: string): string => `neighbors[0].bgp.max-prefix.${k}`;
    expect(errorsOf(withBgp('      max-prefix: { ipv4: 0 }\n'))).toEqual([{ path: at('ipv4'), message: 'must be an integer in 1..4294967295, got 0' }]);
    expect(errorsOf(withBgp('      max-prefix: { ipv6: 1.5 }\n'))).toEqual([{ path: at('ipv6'), message: 'must be an integer in 1..4294967295, got 1.5' }]);
    expect(errorsOf(withBgp('      max-prefix: { action: stop }\n'))).toEqual([{ path: at('action'), message: 'expected one of warning, restart; got string "stop"' }]);
    expect(errorsOf(withBgp('      max-prefix: { restart-after: 3 }\n'))).toEqual([
      { path: at('restart-after'), message: 'goes with action: restart (a warning never tears the session down)' },
    ]);
    expect(errorsOf(withBgp('      max-prefix: { action: restart, restart-after: 0 }\n'))).toEqual([
      { path: at('restart-after'), message: 'must be an integer in 1..65535, got 0' },
    ]);
    expect(errorsOf(withBgp('      max-prefix: { ipv4: 10, limit: 3 }\n'))).toEqual([{ path: at('limit'), message: 'unknown key' }]);
  });
});
