import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlServer } from '#api/index';
import type { ControlHandler, NeighborJson, ReloadJson, RouteJson, StatusJson, TunnelJson } from '#api/types';
import { main, plainAgentCommand, type CliIo } from '#cli/main';
import { silentLogger } from '#lib/log';
import { neighborFixture, statusFixture } from '../fixtures/api/index.js';

const NOW = new Date('2025-01-01T12:00:00Z');
const FIXTURE = new URL('../fixtures/config/design-example.yaml', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'wgbgp-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], stdin = '', stdoutFd?: number): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(stdin),
    now: () => NOW,
    ...(stdoutFd === undefined ? {} : { stdoutFd }),
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('wgbgp config check', () => {
  it('0 for a valid file; the missing key file is a warning on stderr', async () => {
    const r = await run(['config', 'check', FIXTURE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${FIXTURE}: ok (1 neighbor, 1 warning)\n`);
    expect(r.stderr).toBe(
      `${FIXTURE}:17:3: wireguard.private-key-file: warning: /etc/wgbgp/private.key does not exist (the agent will not start without it)\n`,
    );
  });

  it('1 with --strict when the key file is missing', async () => {
    const r = await run(['config', 'check', '--strict', FIXTURE]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^.*: wireguard\.private-key-file: \/etc\/wgbgp\/private\.key does not exist/);
  });

  it('1 for an invalid file, one error per line: file:line:col: key.path: reason', async () => {
    const file = join(tmp, 'bad.yaml');
    const text = readFileSync(FIXTURE, 'utf8')
      .replace('asn: 65001', 'asn: 0')
      .replace('hold-time: 90', 'hold-time: 2')
      .replace('keep-on-stop: true', 'keep-on-stop: true\n  colour: blue');
    writeFileSync(file, text);
    const r = await run(['config', 'check', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${file}:2:3: router.asn: ASN 0 is reserved (RFC 7607)`,
      `${file}:10:3: dataplane.colour: unknown key`,
      `${file}:18:3: wireguard.private-key-file: warning: /etc/wgbgp/private.key does not exist (the agent will not start without it)`,
      `${file}:35:7: neighbors[0].bgp.hold-time: must be 0 or an integer in 3..65535 seconds (RFC 4271 §4.2), got 2`,
    ]);
  });

  it('1 for a file that is not there', async () => {
    const r = await run(['config', 'check', join(tmp, 'absent.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${join(tmp, 'absent.yaml')}: cannot read: no such file\n`);
  });

  it('2 for usage errors: no file, an unknown option', async () => {
    const none = await run(['config', 'check']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/missing required argument 'file'/);
    expect((await run(['config', 'check', '--strikt', FIXTURE])).code).toBe(2);
  });
});

describe('usage', () => {
  it('--help and --version exit 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['agent', 'config', 'status', 'neighbors', 'tunnels', 'routes', 'reload', 'genkey', 'pubkey', 'lab']) {
      expect(help.stdout).toContain(`  ${c}`);
    }
    const v = await run(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n` });
  });
  it('an unknown command, extra arguments and a bad routes target exit 2', async () => {
    expect((await run(['bogus'])).code).toBe(2);
    expect((await run(['status', 'extra'])).code).toBe(2);
    const bad = await run(['routes', 'not-an-address']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^wgbgp: error: .*expected a prefix \(10\.1\.0\.0\/24\) or an address/);
    const hostBits = await run(['routes', '10.1.0.5/24']);
    expect(hostBits.code).toBe(2);
    expect(hostBits.stderr).toMatch(/did you mean 10\.1\.0\.0\/24\?/);
  });
});

describe('agent and lab hand over to their modules', () => {
  it('a failure there is exit 1 with the reason on stderr', async () => {
    const agent = await run(['agent', '--config', join(tmp, 'absent.yaml')]);
    expect(agent.code).toBe(1);
    expect(agent.stderr).not.toBe('');
    const lab = await run(['lab', 'test', join(tmp, 'no-such-lab')]);
    expect(lab.code).toBe(1);
    expect(lab.stderr).toMatch(/^wgbgp: /);
  });
  it('`agent [--config FILE]` starts the agent without the command-line program; any other agent line goes through it', async () => {
    expect(plainAgentCommand(['agent'])).toBe('/etc/wgbgp/wgbgp.yaml');
    expect(plainAgentCommand(['agent', '--config', '/x/w.yaml'])).toBe('/x/w.yaml');
    expect(plainAgentCommand(['agent', '--config=/x/w.yaml'])).toBe('/x/w.yaml');
    for (const argv of [['status'], ['agent', '--help'], ['agent', '--config'], ['agent', '--config='], ['agent', '--config', '--help'], ['agent', 'x'], ['agent', '--config', 'a', 'b']]) {
      expect(plainAgentCommand(argv), argv.join(' ')).toBeNull();
    }
    const help = await run(['agent', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--config <file>');
    expect((await run(['agent', '--bogus'])).code).toBe(2);
    expect((await run(['agent', '--config'])).code).toBe(2);
    const eq = await run(['agent', `--config=${join(tmp, 'absent.yaml')}`]);
    expect(eq.code).toBe(1);
    expect(eq.stderr).toContain('absent.yaml');
  });
  it('lab without a folder is a usage error', async () => {
    expect((await run(['lab', 'up'])).code).toBe(2);
  });
});

const STATUS: StatusJson = statusFixture();
const NEIGHBOR: NeighborJson = neighborFixture({ prefixesReceived: 1, prefixesAccepted: 0 });
const ROUTE: RouteJson = {
  prefix: '10.1.0.0/24',
  source: 'bgp',
  neighbor: 'site-b',
  asPath: [65002],
  nexthops: [{ address: '10.255.0.1', interface: 'wg-site-b' }],
  fib: true,
  fibDetail: null,
};
const TUNNEL: TunnelJson = {
  name: 'site-b',
  interface: 'wg-site-b',
  dataplaneInterface: 'wg-site-b',
  publicKey: 'hIDvqXoi1MGOkMyEGyIOaxZZhw2vPWtwRsjfwPcPF3I=',
  endpoint: '198.51.100.2:51820',
  latestHandshake: '2025-01-01T11:59:30Z',
  up: true,
  rxBytes: 1024,
  txBytes: 2048,
  endpointName: null,
  endpointError: null,
};

/** Stands in for the agent behind a real ControlServer. */
class FakeAgent implements ControlHandler {
  queries: (string | undefined)[] = [];
  reloadResult: ReloadJson = { ok: true, errors: [], added: [], removed: [], changed: ['site-b'] };
  statusResult: StatusJson = STATUS;
  status(): StatusJson {
    return this.statusResult;
  }
  neighbors(): NeighborJson[] {
    return [NEIGHBOR];
  }
  routes(query?: string): RouteJson[] {
    this.queries.push(query);
    return query === '10.9.0.1' ? [] : [ROUTE];
  }
  tunnels(): Promise<TunnelJson[]> {
    return Promise.resolve([TUNNEL]);
  }
  reload(): Promise<ReloadJson> {
    return Promise.resolve(this.reloadResult);
  }
}

describe('queries over the control socket', () => {
  let agent: FakeAgent;
  let server: ControlServer;
  let socket: string;
  beforeEach(async () => {
    agent = new FakeAgent();
    socket = join(mkdtempSync(join(tmp, 'sock-')), 'control.sock');
    server = new ControlServer(agent, { path: socket, log: silentLogger() });
    await server.listen();
  });
  afterEach(() => server.close());

  it('routes ADDRESS passes the address through and prints the table', async () => {
    const r = await run(['routes', '10.1.0.5', '--socket', socket]);
    expect(r.code).toBe(0);
    expect(agent.queries).toEqual(['10.1.0.5']);
    expect(r.stdout.split('\n')[1]!.split(/\s{2,}/)).toEqual(['10.1.0.0/24', 'bgp (site-b)', '10.255.0.1', 'wg-site-b', '65002', '✓']);
  });

  it('routes canonicalizes what it sends: an IPv6 address, a prefix', async () => {
    await run(['routes', '2001:DB8:0::1', '--socket', socket]);
    await run(['routes', '10.1.0.0/24', '--socket', socket]);
    await run(['routes', '--socket', socket]);
    expect(agent.queries).toEqual(['2001:db8::1', '10.1.0.0/24', undefined]);
  });

  it('--config finds the socket in the file (control.socket); --socket wins over it', async () => {
    const cfg = join(tmp, 'with-socket.yaml');
    writeFileSync(cfg, `router: { asn: 65001, router-id: 192.0.2.1 }\ncontrol:\n  socket: ${socket}\n`);
    const r = await run(['neighbors', '--json', '--config', cfg]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([NEIGHBOR]);
    expect((await run(['status', '--config', cfg, '--socket', join(tmp, 'nobody.sock')])).code).toBe(3);
    const none = join(tmp, 'without-socket.yaml');
    writeFileSync(none, 'router: { asn: 65001, router-id: 192.0.2.1 }\n');
    expect((await run(['routes', '--config', none])).stderr).toMatch(/cannot reach the agent at \/run\/wgbgp\/control\.sock/);
  });

  it('routes with no match says so, and exits 1', async () => {
    const r = await run(['routes', '10.9.0.1', '--socket', socket]);
    expect(r.stdout).toBe('no route matches 10.9.0.1\n');
    expect(r.code).toBe(1);
    expect((await run(['routes', '10.9.0.1', '--json', '--socket', socket])).code).toBe(1);
    expect((await run(['routes', '10.1.0.5', '--socket', socket])).code).toBe(0);
  });

  it('--json prints the result as the agent sent it', async () => {
    for (const [cmd, result] of [
      ['status', STATUS],
      ['neighbors', [NEIGHBOR]],
      ['tunnels', [TUNNEL]],
      ['routes', [ROUTE]],
    ] as const) {
      const r = await run([cmd, '--json', '--socket', socket]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${JSON.stringify(result, null, 2)}\n`);
    }
  });

  it('human output of status, neighbors and tunnels', async () => {
    expect((await run(['status', '--socket', socket])).stdout).toMatch(/^version: +0\.1\.0\n[\s\S]*neighbors: +1 of 1 established\n/);
    expect((await run(['neighbors', '--socket', socket])).stdout).toMatch(/site-b +wg-site-b +10\.255\.0\.1 +65002 +Established +1h00m +1 +0 +2 +-/);
    expect((await run(['tunnels', '--socket', socket])).stdout).toMatch(/198\.51\.100\.2:51820 +30s ago +✓/);
  });

  it('reload: 0 when applied, 1 with the errors when rejected', async () => {
    const ok = await run(['reload', '--socket', socket]);
    expect(ok).toMatchObject({ code: 0, stdout: 'reloaded: changed site-b\n' });
    agent.reloadResult = { ok: false, errors: ['/etc/wgbgp/wgbgp.yaml: router.asn: ASN 0 is reserved (RFC 7607)'], added: [], removed: [], changed: [] };
    const rejected = await run(['reload', '--socket', socket]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toBe(
      'reload rejected; the running configuration is unchanged\n/etc/wgbgp/wgbgp.yaml: router.asn: ASN 0 is reserved (RFC 7607)\n',
    );
  });

  it('status exit codes for monitoring: 0 all well, 1 degraded or a neighbor down, 3 unreachable', async () => {
    expect((await run(['status', '--socket', socket])).code).toBe(0);
    agent.statusResult = { ...STATUS, dataplane: { ...STATUS.dataplane, state: 'degraded', detail: 'FIB: 10.1.0.0/24: EEXIST' } };
    expect((await run(['status', '--socket', socket])).code).toBe(1);
    agent.statusResult = { ...STATUS, neighbors: { total: 2, established: 1, down: 1 } };
    expect((await run(['status', '--json', '--socket', socket])).code).toBe(1);
    // A remote-access neighbor awaiting its first handshake is not down.
    agent.statusResult = { ...STATUS, neighbors: { total: 2, established: 1, down: 0 } };
    expect((await run(['status', '--socket', socket])).code).toBe(0);
    const missing = join(tmp, 'nobody.sock');
    const r = await run(['status', '--socket', missing]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`wgbgp: cannot reach the agent at ${missing}: no such file (is \`wgbgp agent\` running?)\n`);
  });

  it('1 with a one-line error when the agent is unreachable (3 for status)', async () => {
    const missing = join(tmp, 'nobody.sock');
    for (const cmd of ['status', 'neighbors', 'tunnels', 'routes', 'reload']) {
      const r = await run([cmd, '--socket', missing]);
      expect(r.code).toBe(cmd === 'status' ? 3 : 1);
      expect(r.stderr).toBe(`wgbgp: cannot reach the agent at ${missing}: no such file (is \`wgbgp agent\` running?)\n`);
    }
  });
});

const hasWg = spawnSync('wg', ['--version']).status === 0;

function wgPubkey(priv: string): string {
  const r = spawnSync('wg', ['pubkey'], { input: `${priv}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('genkey and pubkey', () => {
  it('genkey prints a clamped Curve25519 key in wg form', async () => {
    const r = await run(['genkey']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const k = Buffer.from(r.stdout, 'base64');
    expect(k).toHaveLength(32);
    expect(k[0]! & 7).toBe(0);
    expect(k[31]! & 0xc0).toBe(0x40);
  });

  it.skipIf(!hasWg)('pubkey equals `wg pubkey`, for our keys and for wg genkey keys', async () => {
    for (let i = 0; i < 5; i++) {
      const ours = (await run(['genkey'])).stdout.trim();
      expect((await run(['pubkey'], `${ours}\n`)).stdout).toBe(wgPubkey(ours));
      const theirs = spawnSync('wg', ['genkey'], { encoding: 'utf8' }).stdout.trim();
      expect((await run(['pubkey'], theirs)).stdout).toBe(wgPubkey(theirs));
    }
  });

  it('pubkey of a known vector (RFC 7748 §6.1, Alice)', async () => {
    // Alice's private key 77076d0a…2c2a and public key 8520f009…4e6a, in base64.
    const priv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex').toString('base64');
    const pub = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex').toString('base64');
    expect((await run(['pubkey'], priv)).stdout).toBe(`${pub}\n`);
  });

  it('pubkey rejects what is not a key, exit 1', async () => {
    const r = await run(['pubkey'], 'hello\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^wgbgp pubkey: not a WireGuard key/);
  });

  it('genkey warns, like wg, when stdout is a file others can read', async () => {
    const file = join(tmp, 'key.out');
    const fd = openSync(file, 'w', 0o644);
    try {
      expect((await run(['genkey'], '', fd)).stderr).toBe('Warning: writing to world accessible file.\n');
    } finally {
      closeSync(fd);
    }
  });
});
