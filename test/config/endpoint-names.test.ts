/**
 * Endpoints given as DNS names (issue 12): a `host:port` endpoint is accepted as
 * written (the agent resolves it), a bad name or port is one error at the
 * endpoint's key path, and `wireguard.reresolve-after` bounds the re-resolution.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, type LoadResult } from '#config/index';

const DESIGN = readFileSync(new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname, 'utf8');
const ENDPOINT = 'endpoint: 198.51.100.2:51820';

function variant(from: string, to: string, text = DESIGN): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

function parse(text: string): LoadResult {
  return parseConfig(text, 'wgbgp.yaml', { strict: false, checkFiles: false });
}

function oneError(text: string): { path: string; message: string } {
  const r = parse(text);
  if (r.ok) throw new Error('expected the configuration to be rejected');
  expect(r.errors).toHaveLength(1);
  return { path: r.errors[0]!.path, message: r.errors[0]!.message };
}

describe('a neighbor endpoint given as a DNS name', () => {
  for (const name of ['vpn.example.com:51820', 'branch7:51820', 'site-b.vpn.example.net.:1', 'a1.example:65535']) {
    it(`keeps ${name} as written, for the agent to resolve`, () => {
      const r = parse(variant(ENDPOINT, `endpoint: ${name}`));
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.config.neighbors[0]!.endpoint).toBe(name);
    });
  }

  it('is not checked against the source address family (the name may have both)', () => {
    const r = parse(variant(ENDPOINT, 'endpoint: v6only.example.net:51820'));
    expect(r.ok).toBe(true);
  });

  for (const [bad, reason] of [
    ['vpn.example.com', /port is required/],
    ['vpn.example.com:0', /port must be 1\.\.65535/],
    ['vpn.example.com:70000', /port must be 1\.\.65535/],
    ['vpn.example.com:http', /port must be 1\.\.65535/],
    ['vpn_site.example.com:51820', /not a host name/],
    ['vpn..example.com:51820', /not a host name/],
    ['-vpn.example.com:51820', /not a host name/],
    ['vpn.example.123:51820', /not a host name/],
    [`${'a'.repeat(64)}.example:51820`, /not a host name/],
  ] as const) {
    it(`rejects ${bad}: ${String(reason)}`, () => {
      const e = oneError(variant(ENDPOINT, `endpoint: "${bad}"`));
      expect(e.path).toBe('neighbors[0].endpoint');
      expect(e.message).toMatch(reason);
    });
  }
});

describe('wireguard.reresolve-after', () => {
  it('defaults to 135 s, as wireguard-tools reresolve-dns', () => {
    const r = parse(DESIGN);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.wireguard.reresolveAfter).toBe(135);
  });

  it('takes 10..86400 seconds', () => {
    const r = parse(variant('wireguard:\n', 'wireguard:\n  reresolve-after: 30\n'));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.wireguard.reresolveAfter).toBe(30);
    for (const bad of [0, 9, 86401, 1.5]) {
      const e = oneError(variant('wireguard:\n', `wireguard:\n  reresolve-after: ${bad}\n`));
      expect(e.path).toBe('wireguard.reresolve-after');
      expect(e.message).toMatch(/10\.\.86400/);
    }
  });
});
