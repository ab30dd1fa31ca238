import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatIssue,
  formatWarning,
  generatePrivateKey,
  loadConfig,
  parseConfig,
  publicKeyOf,
  type ConfigIssue,
  type LoadResult,
} from '#config/index';

const FIXTURE = new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname;
const DESIGN = readFileSync(FIXTURE, 'utf8');
const KEY_B = 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=';
const KEY_C = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

/** The design example with one piece of text replaced; the replaced text must exist. */
function variant(from: string, to: string, text = DESIGN): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

const SECOND_NEIGHBOR = `
  - name: site-c
    interface: wg-site-c
    public-key: "${KEY_C}"
    endpoint: 198.51.100.3:51820
    listen-port: 51822
    tunnel:
      local: [10.255.0.2/31]
      remote: [10.255.0.3]
    bgp:
      asn: 65003
`;

function parse(text: string, strict = false): LoadResult {
  return parseConfig(text, 'wgbgp.yaml', { strict, checkFiles: false });
}

function errors(text: string, strict = false): ConfigIssue[] {
  const r = parse(text, strict);
  if (r.ok) throw new Error('expected the configuration to be rejected');
  return r.errors;
}

/** Exactly one error, at `path`, whose reason contains `reason`. */
function expectOneError(text: string, path: string, reason: string | RegExp): void {
  const errs = errors(text);
  expect(errs.map((e) => e.path)).toEqual([path]);
  expect(errs[0]!.message).toMatch(reason);
}

describe('the design.md example', () => {
  it('loads unchanged, with defaults filled in', () => {
    const r = parse(DESIGN);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toEqual([]);
    expect(r.config).toEqual({
      router: { asn: 65001, routerId: '192.0.2.1' },
      control: { socket: '/run/wgbgp/control.sock', group: null, adminGroup: null },
      metrics: { listen: null },
      ospf: null,
      dataplane: {
        wireguard: 'auto',
        fib: 'linux',
        keepOnStop: true,
        linux: { protocol: 201, table: 254, metric: 32 },
        vpp: { apiSocket: '/run/vpp/api.sock', linuxCp: true, linuxCpNetns: null, tableId: 0, controlInterface: null },
      },
      wireguard: { privateKeyFile: '/etc/wgbgp/private.key', sourceAddress: '198.51.100.1', reresolveAfter: 135 },
      announce: ['10.1.0.0/24', '2001:db8:1::/48'],
      announceCommunities: {},
      requirePolicy: false,
      multipath: { enabled: false, maxPaths: 8, relaxAsPath: false },
      policy: { prefixLists: {}, asPathLists: {}, asSets: {}, communityLists: {}, policies: {} },
      neighbors: [
        {
          name: 'site-b',
          interface: 'wg-site-b',
          publicKey: KEY_B,
          endpoint: '198.51.100.2:51820',
          listenPort: 51821,
          persistentKeepalive: 25, mtu: 1420,
          tunnel: { local: ['10.255.0.0/31', 'fd00:255::/127'], remote: ['10.255.0.1', 'fd00:255::1'] },
          sourceAddress: null,
          bgp: { asn: 65002, holdTime: 90, passive: false, ttlSecurity: true, password: null, gracefulRestart: true, gracefulRestartTime: 120, longLivedStaleTime: 0, advertiseOspf: null, maxPrefix: { ipv4: 2_000_000, ipv6: 500_000, action: 'warning', restartAfter: 5 }, import: [], export: [], softReconfigurationInbound: false, addPath: { receive: false, send: 0 } },
          ospf: null,
          bfd: null,
        },
      ],
    });
  });

  it('loads from its file; the missing private key is a warning, an error with strict', async () => {
    const r = await loadConfig(FIXTURE);
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.path)).toEqual(['wireguard.private-key-file']);
    expect(r.warnings[0]!.message).toMatch(/does not exist/);
    const strict = await loadConfig(FIXTURE, { strict: true });
    expect(strict.ok).toBe(false);
    if (!strict.ok) expect(strict.errors.map((e) => e.path)).toEqual(['wireguard.private-key-file']);
  });
});

describe('defaults', () => {
  const minimal = `
router: { asn: 65001, router-id: 192.0.2.1 }
wireguard: { private-key-file: /etc/wgbgp/private.key }
neighbors:
  - name: client
    interface: wg0
    public-key: "${KEY_B}"
    bgp: { asn: 65002 }
`;
  it('fills every optional key', () => {
    const r = parse(minimal);
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.config.control.socket).toBe('/run/wgbgp/control.sock');
    expect(r.config.dataplane).toEqual({
      wireguard: 'auto',
      fib: 'linux',
      keepOnStop: true,
      linux: { protocol: 201, table: 254, metric: 32 },
      vpp: { apiSocket: '/run/vpp/api.sock', linuxCp: true, linuxCpNetns: null, tableId: 0, controlInterface: null },
    });
    expect(r.config.announce).toEqual([]);
    expect(r.config.neighbors[0]).toEqual({
      name: 'client',
      interface: 'wg0',
      publicKey: KEY_B,
      endpoint: null,
      listenPort: null,
      persistentKeepalive: 0, mtu: 1420,
      tunnel: null,
      sourceAddress: null,
      bgp: { asn: 65002, holdTime: 90, passive: false, ttlSecurity: true, password: null, gracefulRestart: true, gracefulRestartTime: 120, longLivedStaleTime: 0, advertiseOspf: null, maxPrefix: { ipv4: 2_000_000, ipv6: 500_000, action: 'warning', restartAfter: 5 }, import: [], export: [], softReconfigurationInbound: false, addPath: { receive: false, send: 0 } },
      ospf: null,
      bfd: null,
    });
  });

  it('treats a section with every key commented out as absent', () => {
    const r = parse(`${minimal}control:\n  # socket: /tmp/x\ndataplane:\n`);
    expect(r.ok).toBe(true);
  });

  it('accepts "main" for the Linux table', () => {
    const r = parse(variant('    protocol: 201', '    protocol: 201\n    table: main'));
    expect(r.ok && r.config.dataplane.linux.table).toBe(254);
    const t = parse(variant('    protocol: 201', '    protocol: 201\n    table: 100'));
    expect(t.ok && t.config.dataplane.linux.table).toBe(100);
  });

  it('issue 12: neighbors[].mtu, default 1420; 1280 (IPv6 minimum, RFC 8200 §5) to 9000', () => {
    const r = parse(variant('    persistent-keepalive: 25', '    persistent-keepalive: 25\n    mtu: 1400'));
    expect(r.ok && r.config.neighbors[0]!.mtu).toBe(1400);
    expectOneError(variant('    persistent-keepalive: 25', '    persistent-keepalive: 25\n    mtu: 1200'), 'neighbors[0].mtu', /1280/);
    expectOneError(variant('    persistent-keepalive: 25', '    persistent-keepalive: 25\n    mtu: 9001'), 'neighbors[0].mtu', /9000/);
  });

  it('canonicalizes announced prefixes and tunnel addresses', () => {
    const r = parse(
      variant('2001:db8:1::/48', '2001:DB8:1:0::/48', variant('fd00:255::1"', 'FD00:255:0::1"')),
    );
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.config.announce).toEqual(['10.1.0.0/24', '2001:db8:1::/48']);
    expect(r.config.neighbors[0]!.tunnel!.remote).toEqual(['10.255.0.1', 'fd00:255::1']);
  });
});

describe('unknown keys', () => {
  it('at the top level', () => {
    expectOneError(`${DESIGN}routing: {}\n`, 'routing', /unknown key/);
  });
  it('nested, with the key path to it', () => {
    expectOneError(variant('      hold-time: 90', '      hold-time: 90\n      hodl-time: 30'), 'neighbors[0].bgp.hodl-time', /unknown key/);
  });
  it('camelCase spelling hints at kebab-case', () => {
    expectOneError(variant('  router-id: 192.0.2.1', '  router-id: 192.0.2.1\n  routerId: 192.0.2.1'), 'router.routerId', /kebab-case: router-id/);
  });
});

describe('wrong types', () => {
  it('a string where a number belongs', () => {
    expectOneError(variant('  asn: 65001', '  asn: "65001"'), 'router.asn', /expected a number, got string "65001"/);
  });
  it('YAML 1.2 has no "yes": booleans are true/false', () => {
    expectOneError(variant('keep-on-stop: true', 'keep-on-stop: yes'), 'dataplane.keep-on-stop', /expected true or false/);
  });
  it('a scalar where a list belongs', () => {
    expectOneError(variant('announce:\n  - 10.1.0.0/24\n  - 2001:db8:1::/48', 'announce: 10.1.0.0/24'), 'announce', /expected a list/);
  });
  it('an unknown enum value lists the choices', () => {
    expectOneError(variant('fib: linux ', 'fib: kernel '), 'dataplane.fib', /expected one of linux, vpp, none/);
  });
});

describe('prefixes', () => {
  it('an unreadable prefix in announce', () => {
    expectOneError(variant('2001:db8:1::/48', '2001:db8:1::/129'), 'announce[1]', /not a prefix/);
  });
  it('host bits set in announce, with the prefix meant', () => {
    expectOneError(variant('  - 10.1.0.0/24', '  - 10.1.0.1/24'), 'announce[0]', 'host bits set in 10.1.0.1/24 (did you mean 10.1.0.0/24?)');
  });
  it('the same prefix twice is a warning', () => {
    const r = parse(variant('  - 10.1.0.0/24', '  - 10.1.0.0/24\n  - 10.1.0.0/24'));
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.path)).toEqual(['announce[1]']);
  });
});

describe('keys', () => {
  it('not base64 of 32 bytes', () => {
    expectOneError(variant(KEY_B, 'abc'), 'neighbors[0].public-key', /expected 44 characters/);
  });
  it('44 characters whose last symbol carries bits beyond 32 bytes', () => {
    expectOneError(variant(KEY_B, KEY_B.replace('3I=', '3J=')), 'neighbors[0].public-key', /not base64 of exactly 32 bytes/);
  });
});

describe('ASN', () => {
  for (const [value, reason] of [
    ['0', /ASN 0 is reserved/],
    ['23456', /AS_TRANS/],
    ['4294967296', /1\.\.4294967295/],
    ['-1', /1\.\.4294967295/],
    ['65001.5', /1\.\.4294967295/],
  ] as const) {
    it(`rejects ${value} (router and neighbor)`, () => {
      expectOneError(variant('  asn: 65001', `  asn: ${value}`), 'router.asn', reason);
      expectOneError(variant('      asn: 65002', `      asn: ${value}`), 'neighbors[0].bgp.asn', reason);
    });
  }
  it('accepts 4294967295', () => {
    expect(parse(variant('  asn: 65001', '  asn: 4294967295')).ok).toBe(true);
  });
});

describe('router-id', () => {
  it('0.0.0.0 is not a router id', () => {
    expectOneError(variant('router-id: 192.0.2.1', 'router-id: 0.0.0.0'), 'router.router-id', /0\.0\.0\.0/);
  });
  it('must be dotted IPv4', () => {
    expectOneError(variant('router-id: 192.0.2.1', 'router-id: "2001:db8::1"'), 'router.router-id', /dotted IPv4/);
  });
});

describe('duplicates among neighbors', () => {
  const two = `${DESIGN}${SECOND_NEIGHBOR}`;
  it('two neighbors load', () => {
    expect(parse(two).ok).toBe(true);
  });
  it('name', () => {
    expectOneError(variant('name: site-c', 'name: site-b', two), 'neighbors[1].name', /duplicate neighbor name "site-b" \(also neighbors\[0\]/);
  });
  it('interface', () => {
    expectOneError(variant('interface: wg-site-c', 'interface: wg-site-b', two), 'neighbors[1].interface', /already used by neighbors\[0\] \(site-b\)/);
  });
  it('public key: VPP allows a key on one peer only', () => {
    expectOneError(variant(KEY_C, KEY_B, two), 'neighbors[1].public-key', /one peer only/);
  });
  it('listen port', () => {
    expectOneError(variant('listen-port: 51822', 'listen-port: 51821', two), 'neighbors[1].listen-port', /51821/);
  });
  it('overlapping tunnel subnets', () => {
    expectOneError(
      variant('local: [10.255.0.2/31]\n      remote: [10.255.0.3]', 'local: [10.255.0.1/30]\n      remote: [10.255.0.2]', two),
      'neighbors[1].tunnel.local[0]',
      /overlaps neighbors\[0\]\.tunnel\.local\[0\] of site-b/,
    );
  });
});

describe('interface names', () => {
  it('longer than 15 bytes', () => {
    expectOneError(variant('interface: wg-site-b', 'interface: wg-site-b-0123456789'), 'neighbors[0].interface', /15 bytes/);
  });
  it("with '/'", () => {
    expectOneError(variant('interface: wg-site-b', 'interface: wg/b'), 'neighbors[0].interface', /'\/'/);
  });
});

describe('endpoints', () => {
  for (const ok of ['198.51.100.2:51820', '"[2001:db8::2]:51820"', 'vpn.example.com:51820']) {
    it(`accepts ${ok}`, () => {
      expect(parse(variant('endpoint: 198.51.100.2:51820', `endpoint: ${ok}`, variant('  source-address: 198.51.100.1', ''))).ok).toBe(true);
    });
  }
  for (const [bad, reason] of [
    ['198.51.100.2', /port is required/],
    ['198.51.100.2:0', /port must be 1\.\.65535/],
    ['198.51.100.2:65536', /port must be 1\.\.65535/],
    ['"2001:db8::2:51820"', /needs brackets/],
    ['"[198.51.100.2]:51820"', /not an IPv6 address/],
    ['300.1.1.1:51820', /not an IPv4 address/],
    ['-bad-.example:51820', /not a host name/],
  ] as const) {
    it(`rejects ${bad}`, () => {
      expectOneError(variant('endpoint: 198.51.100.2:51820', `endpoint: ${bad}`), 'neighbors[0].endpoint', reason);
    });
  }
  it('an IPv6 endpoint with an IPv4 source address', () => {
    expectOneError(
      variant('endpoint: 198.51.100.2:51820', 'endpoint: "[2001:db8::2]:51820"'),
      'neighbors[0].endpoint',
      /wireguard.source-address is IPv4; set neighbors\[0\]\.source-address/,
    );
  });
  it("a neighbor's own source-address of the wrong family", () => {
    expectOneError(
      variant('endpoint: 198.51.100.2:51820', 'endpoint: 198.51.100.2:51820\n    source-address: 2001:db8::1'),
      'neighbors[0].source-address',
      'IPv6 source address for an IPv4 endpoint',
    );
  });
  it('a neighbor source-address overrides the global one', () => {
    const r = parse(
      variant('endpoint: 198.51.100.2:51820', 'endpoint: "[2001:db8::2]:51820"\n    source-address: 2001:db8::1'),
    );
    expect(r.ok && r.config.neighbors[0]!.sourceAddress).toBe('2001:db8::1');
  });
});

describe('tunnel addresses', () => {
  it('remote outside the local subnet', () => {
    expectOneError(variant('remote: [10.255.0.1,', 'remote: [10.255.0.3,'), 'neighbors[0].tunnel.remote[0]', /outside the local subnet 10\.255\.0\.0\/31/);
  });
  it('remote equal to the local address', () => {
    expectOneError(variant('"fd00:255::1"]', '"fd00:255::"]'), 'neighbors[0].tunnel.remote[1]', /the local address itself/);
  });
  it('two local addresses of one family', () => {
    expectOneError(variant('local: [10.255.0.0/31,', 'local: [10.255.0.0/31, 10.254.0.0/31,'), 'neighbors[0].tunnel.local[1]', /at most one per family/);
  });
  it('a local address needs its length', () => {
    expectOneError(variant('local: [10.255.0.0/31,', 'local: [10.255.0.0,'), 'neighbors[0].tunnel.local[0]', /address\/length/);
  });
  it('a remote address without a local subnet of its family', () => {
    expectOneError(variant('local: [10.255.0.0/31, "fd00:255::/127"]', 'local: [10.255.0.0/31]'), 'neighbors[0].tunnel.remote[1]', /no IPv6 address in tunnel.local/);
  });
  it('a local subnet without a remote address', () => {
    expectOneError(variant('remote: [10.255.0.1, "fd00:255::1"]', 'remote: [10.255.0.1]'), 'neighbors[0].tunnel.local[1]', /no IPv6 address in tunnel.remote/);
  });
  it('host bits are allowed in a local address', () => {
    const r = parse(variant('local: [10.255.0.0/31,', 'local: [10.255.0.1/31,', variant('remote: [10.255.0.1,', 'remote: [10.255.0.0,')));
    expect(r.ok && r.config.neighbors[0]!.tunnel!.local[0]).toBe('10.255.0.1/31');
  });
});

describe('BGP', () => {
  for (const bad of ['1', '2', '65536', '-1']) {
    it(`hold time ${bad} is rejected (RFC 4271 §4.2)`, () => {
      expectOneError(variant('hold-time: 90', `hold-time: ${bad}`), 'neighbors[0].bgp.hold-time', /0 or an integer in 3\.\.65535/);
    });
  }
  for (const ok of ['0', '3', '65535']) {
    it(`hold time ${ok} is accepted`, () => {
      expect(parse(variant('hold-time: 90', `hold-time: ${ok}`)).ok).toBe(true);
    });
  }
});

describe('missing required keys', () => {
  it('router.asn', () => {
    expectOneError(variant('  asn: 65001\n', ''), 'router.asn', 'required key is missing');
  });
  it("a neighbor's bgp section", () => {
    expectOneError(variant('    bgp:\n      asn: 65002\n      hold-time: 90\n', ''), 'neighbors[0].bgp', 'required key is missing');
  });
  it('the wireguard section', () => {
    expectOneError(variant(/wireguard:\n  private-key-file.*\n  source-address.*\n/.exec(DESIGN)![0], ''), 'wireguard', 'required key is missing');
  });
});

describe('dataplane', () => {
  it("table 255 is the kernel's local table", () => {
    expectOneError(variant('    protocol: 201', '    protocol: 201\n    table: 255'), 'dataplane.linux.table', /local table/);
  });
  it('a network namespace name is a file name', () => {
    expectOneError(variant('    table-id: 0', '    table-id: 0\n    linux-cp-netns: a/b'), 'dataplane.vpp.linux-cp-netns', /network namespace/);
  });
  it('Linux protocol numbers 0..4 belong to the kernel', () => {
    expectOneError(variant('protocol: 201', 'protocol: 4'), 'dataplane.linux.protocol', /reserved for the kernel/);
  });
  it("a protocol number of FRR or BIRD is a warning (the agent removes routes with its number)", () => {
    const r = parse(variant('protocol: 201', 'protocol: 186'));
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.path)).toEqual(['dataplane.linux.protocol']);
  });
  it('kernel tunnels with a VPP FIB are allowed with a warning, an error with strict', () => {
    const text = variant('wireguard: auto ', 'wireguard: kernel ', variant('fib: linux ', 'fib: vpp '));
    const r = parse(text);
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.path)).toEqual(['dataplane.wireguard']);
    expect(errors(text, true).map((e) => e.path)).toEqual(['dataplane.wireguard']);
  });
  it('VPP tunnels need a source address', () => {
    expectOneError(variant('  source-address: 198.51.100.1', '', variant('fib: linux ', 'fib: vpp ')), 'wireguard.source-address', /required with the VPP WireGuard dataplane \(no source-address for site-b\)/);
  });
});

describe('YAML syntax', () => {
  it('reports line and column', () => {
    const errs = errors('router:\n  asn: 65001\n  router-id: [192.0.2.1\n');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ file: 'wgbgp.yaml', path: '', line: 4, col: 1 });
    expect(formatIssue(errs[0]!)).toMatch(/^wgbgp\.yaml:4:1: YAML: /);
  });
  it('a duplicate key', () => {
    const errs = errors(variant('  router-id: 192.0.2.1', '  router-id: 192.0.2.1\n  asn: 65009'));
    expect(errs.map((e) => [e.message, e.line, e.col])).toEqual([['YAML: duplicate key', 4, 3]]);
  });
  it('an empty file', () => {
    expect(errors('# nothing\n')[0]!.message).toBe('the file holds no configuration');
  });
  it('an alias to a missing anchor', () => {
    expect(errors('router: *nope\n')[0]!.message).toMatch(/^YAML: /);
  });
});

describe('reporting', () => {
  it('one line per issue: file:line:col, key path, reason (a key not in the file has no position)', () => {
    const errs = errors(variant('  asn: 65001', '  asn: 0'));
    expect(errs.map(formatIssue)).toEqual(['wgbgp.yaml:2:3: router.asn: ASN 0 is reserved (RFC 7607)']);
    expect(formatIssue({ file: 'f', path: 'router', message: 'required' })).toBe('f: router: required');
    expect(formatWarning({ file: 'f', path: 'a.b', message: 'm' })).toBe('f: a.b: warning: m');
  });
  it('reports every problem in one pass, in file order, with positions', () => {
    const text = variant('  asn: 65001', '  asn: 0', variant('hold-time: 90', 'hold-time: 1', variant(KEY_B, 'bad')));
    const errs = errors(`${text}${SECOND_NEIGHBOR.replace('site-c', 'site-b')}`);
    expect(errs.map((e) => e.path)).toEqual([
      'router.asn',
      'neighbors[0].public-key',
      'neighbors[0].bgp.hold-time',
      'neighbors[1].name',
    ]);
    expect(errs[0]).toMatchObject({ line: 2, col: 3 });
  });
  it('issues on one line are ordered by column, warnings among errors with strict', () => {
    const errs = errors(variant('announce:\n  - 10.1.0.0/24\n  - 2001:db8:1::/48', 'announce: [10.1.0.0/24, 10.1.0.0/24, 10.1.0.1/24]'), true);
    expect(errs.map((e) => e.path)).toEqual(['announce[1]', 'announce[2]']);
  });
  it('a missing file', async () => {
    const r = await loadConfig('/nonexistent/wgbgp.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatIssue)).toEqual(['/nonexistent/wgbgp.yaml: cannot read: no such file']);
  });
});

describe('the private key file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgbgp-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const withKeyFile = (keyPath: string, text = DESIGN): string =>
    variant('private-key-file: /etc/wgbgp/private.key', `private-key-file: ${keyPath}`, text);

  function write(name: string, content: string, mode = 0o600): string {
    const p = join(dir, name);
    writeFileSync(p, content);
    chmodSync(p, mode);
    return p;
  }

  it('a readable key: no warning; relative paths are taken from the config folder', async () => {
    write('private.key', `${generatePrivateKey()}\n`);
    const cfg = write('wgbgp.yaml', withKeyFile('private.key'));
    const r = await loadConfig(cfg, { strict: true });
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.config.wireguard.privateKeyFile).toBe(join(dir, 'private.key'));
    expect(r.warnings).toEqual([]);
  });
  it('a key readable by others is a warning', () => {
    const p = write('open.key', generatePrivateKey(), 0o644);
    const r = parseConfig(withKeyFile(p), 'wgbgp.yaml');
    expect(r.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/mode 0644/)]);
  });
  it('a file that holds no key is an error (its content is not echoed)', () => {
    const p = write('garbage.key', 'not a key\n');
    const r = parseConfig(withKeyFile(p), 'wgbgp.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.path)).toEqual(['wireguard.private-key-file']);
      expect(r.errors[0]!.message).not.toContain('not a key');
    }
  });
  it("a neighbor given this router's own public key", () => {
    const priv = generatePrivateKey();
    const p = write('own.key', priv);
    const r = parseConfig(withKeyFile(p, variant(KEY_B, publicKeyOf(priv))), 'wgbgp.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(['neighbors[0].public-key']);
  });
});

describe('control groups and metrics (issue 8)', () => {
  const SOCKET = '  socket: /run/wgbgp/control.sock';
  it('groups by name or number; metrics on an IP address and port', () => {
    const r = parse(variant(SOCKET, `${SOCKET}\n  group: wgbgp\n  admin-group: 0\nmetrics:\n  listen: "[::1]:9479"`));
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.config.control).toEqual({ socket: '/run/wgbgp/control.sock', group: 'wgbgp', adminGroup: 0 });
    expect(r.config.metrics).toEqual({ listen: '[::1]:9479' });
  });
  it('metrics are off unless asked for', () => {
    const r = parse(DESIGN);
    expect(r.ok && r.config.metrics).toEqual({ listen: null });
  });
  it('a group that is not a name or a gid', () => {
    expectOneError(variant(SOCKET, `${SOCKET}\n  group: "wg bgp"`), 'control.group', /not a group name/);
    expectOneError(variant(SOCKET, `${SOCKET}\n  admin-group: -1`), 'control.admin-group', /0\.\.4294967294/);
  });
  it('a metrics address must be an IP literal with a port', () => {
    expectOneError(variant(SOCKET, `${SOCKET}\nmetrics:\n  listen: localhost:9479`), 'metrics.listen', /expected an IP address and port/);
    expectOneError(variant(SOCKET, `${SOCKET}\nmetrics:\n  listen: 127.0.0.1`), 'metrics.listen', /port is required/);
    expectOneError(variant(SOCKET, `${SOCKET}\nmetrics:\n  port: 9479`), 'metrics.port', /unknown key/);
  });
});

describe('ospf (issue 9)', () => {
  const SOCKET = '  socket: /run/wgbgp/control.sock';
  const BGP = '    bgp:\n      asn: 65002';
  const withOspf = (neighborOspf: string, section = 'ospf:\n  distance: 115') =>
    variant(BGP, `    ospf:\n${neighborOspf}\n${BGP}`, variant(SOCKET, `${SOCKET}\n${section}`));

  it('the bridge and a neighbor block, with defaults (area 0 as 0.0.0.0, hello 10, dead 40; router id from router)', () => {
    const r = parse(withOspf('      cost: 10\n      authentication: { key-id: 1, key: s3cret }'));
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.config.ospf).toEqual({
      routerId: '192.0.2.1',
      referenceBandwidth: null,
      distance: 115,
      redistributeBgp: false,
      externalTag: 201,
      frr: { vtysh: '/usr/bin/vtysh', pathspace: null, fpmListen: '127.0.0.1:2620' },
    });
    expect(r.config.neighbors[0]!.ospf).toEqual({
      area: '0.0.0.0',
      cost: 10,
      helloInterval: 10,
      deadInterval: 40,
      passive: false,
      authentication: { keyId: 1, key: 's3cret' },
    });
  });
  it('areas as numbers become dotted quads', () => {
    const r = parse(withOspf('      area: 258'));
    expect(r.ok && r.config.neighbors[0]!.ospf?.area).toBe('0.0.1.2');
  });
  it('OSPF → BGP per neighbor: all, or a prefix list with ge/le', () => {
    const text = withOspf('      area: 0').replace('      asn: 65002', '      asn: 65002\n      advertise-ospf: ["10.0.0.0/8 le 24", "fd00::/8 ge 48 le 64", "192.168.1.0/24"]');
    const r = parse(text);
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.config.neighbors[0]!.bgp?.advertiseOspf).toEqual({
      prefixes: [
        { prefix: '10.0.0.0/8', ge: 8, le: 24 },
        { prefix: 'fd00::/8', ge: 48, le: 64 },
        { prefix: '192.168.1.0/24', ge: 24, le: 24 },
      ],
    });
    const all = parse(withOspf('      area: 0').replace('      asn: 65002', '      asn: 65002\n      advertise-ospf: true'));
    expect(all.ok && all.config.neighbors[0]!.bgp?.advertiseOspf).toEqual({ prefixes: null });
  });
  it('advertise-ospf: bad entries, and no OSPF to advertise without the bridge', () => {
    expectOneError(
      withOspf('      area: 0').replace('      asn: 65002', '      asn: 65002\n      advertise-ospf: ["10.0.0.0/8 le 4"]'),
      'neighbors[0].bgp.advertise-ospf[0]',
      /8 <= ge <= le <= 32/,
    );
    expectOneError(variant('      asn: 65002', '      asn: 65002\n      advertise-ospf: true'), 'neighbors[0].bgp.advertise-ospf', /without the top-level ospf section/);
  });
  it('a neighbor block without the bridge, and a dead interval not above hello', () => {
    expectOneError(variant(BGP, `    ospf: { area: 0 }\n${BGP}`), 'neighbors[0].ospf', /needs the top-level ospf section/);
    expectOneError(withOspf('      hello-interval: 10\n      dead-interval: 10'), 'neighbors[0].ospf.dead-interval', /longer than hello-interval/);
  });
  it('bad values: area, key length', () => {
    expectOneError(withOspf('      area: 0.0.0'), 'neighbors[0].ospf.area', /dotted quad/);
    expectOneError(withOspf('      authentication: { key-id: 1, key: "0123456789abcdefX" }'), 'neighbors[0].ospf.authentication.key', /1\.\.16 bytes/);
  });
  it('BGP → OSPF needs the agent\'s kernel routes (fib linux, or vpp through the kernel mirror; not none)', () => {
    const none = withOspf('      area: 0', 'ospf:\n  redistribute-bgp: true').replace('  fib: linux', '  fib: none');
    expect(errors(none).map((e) => e.path)).toContain('ospf.redistribute-bgp');
    const vpp = withOspf('      area: 0', 'ospf:\n  redistribute-bgp: true').replace('  wireguard: auto', '  wireguard: vpp').replace('  fib: linux', '  fib: vpp');
    const ok = parse(vpp);
    expect(ok.ok ? [] : ok.errors).toEqual([]);
    const r = parse(withOspf('      area: 0', 'ospf:\n  redistribute-bgp: true\n  external-tag: 65001'));
    expect(r.ok && r.config.ospf).toMatchObject({ redistributeBgp: true, externalTag: 65001 });
  });
  it('OSPF cannot run through the VPP punt path', () => {
    const text = withOspf('      area: 0').replace('  wireguard: auto', '  wireguard: vpp').replace('  fib: linux', '  fib: vpp').replace('    linux-cp: true', '    linux-cp: false');
    const errs = errors(text);
    expect(errs.map((e) => e.path)).toContain('neighbors[0].ospf');
  });
});

describe('ospf authentication keys', () => {
  it('printable ASCII without blanks (FRR reads the key as one word)', () => {
    const text = variant('    bgp:\n      asn: 65002', '    ospf:\n      authentication: { key-id: 1, key: "two words" }\n    bgp:\n      asn: 65002', variant('  socket: /run/wgbgp/control.sock', '  socket: /run/wgbgp/control.sock\nospf: {}'));
    expectOneError(text, 'neighbors[0].ospf.authentication.key', /printable ASCII without blanks/);
  });
});
