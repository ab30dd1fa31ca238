/**
 * Issue 12: an endpoint given as a DNS name that changes. The agent runs in
 * namespace A with two neighbors on wireguard-go: B by name (resolved through
 * /etc/netns/A/hosts, which `ip netns exec` bind-mounts over /etc/hosts: a real
 * getaddrinfo, no mock) and C by IP literal. B and C are bare wireguard-go peers
 * configured with `wg`, without endpoint or keepalive. A's underlay towards B
 * has a stateful filter, as behind a NAT: UDP that A did not start is dropped.
 * So once B's underlay address moves, B's own handshake from its new address
 * (WireGuard retries when its packets go unanswered) never reaches A, and only
 * A's re-resolution can bring the tunnel back.
 *
 * B's address moves and the hosts file follows: after `reresolve-after`
 * seconds without a handshake the agent looks the name up again and sets the
 * new endpoint on B's peer only: pings through the tunnel come back, both
 * tunnel interfaces keep their ifindex, and C's endpoint and handshake are
 * untouched.
 *
 * Then a name missing from the hosts file at start: the tunnel is made without
 * endpoint, `wgbgp tunnels` shows the name and the resolver's error, and once
 * the name is added the retry (5 s, 10 s, 20 s …) sets it.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelJson } from '#api/types';
import { generatePrivateKey, publicKeyOf } from '#wg/keys';
import { CLI, until } from './helpers/agents.js';
import { cleanupPrefix, createNamespaces, execIn, netnsSupported, spawnIn, uniqueName, withVethPair } from './helpers/netns.js';

const canRun = netnsSupported() && existsSync('/usr/sbin/nft') && existsSync('/usr/bin/wireguard-go') && existsSync('/usr/bin/wg') && existsSync(CLI);
const NAME = 'peer-b.wgbgp.test';
const RERESOLVE_AFTER = 10;

describe.skipIf(!canRun)('an endpoint given as a DNS name that changes (wireguard-go, namespaces)', () => {
  const prefix = uniqueName('dns');
  const [nsA, nsB, nsC] = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
  // wireguard-go interfaces start with the prefix: cleanupPrefix stops their processes and sockets.
  const ifAB = `${prefix}b`;
  const ifAC = `${prefix}c`;
  const ifB = `${prefix}p`;
  const ifC = `${prefix}q`;
  const netnsEtc = `/etc/netns/${nsA}`;
  const sock = `/run/wgbgp/${prefix}.sock`;
  const dir = mkdtempSync(join(tmpdir(), 'wgbgp-dns-'));
  const agentLog = join(dir, 'agent.log');
  const keys = { a: generatePrivateKey(), b: generatePrivateKey(), c: generatePrivateKey() };
  const pub = { a: publicKeyOf(keys.a), b: publicKeyOf(keys.b), c: publicKeyOf(keys.c) };
  let agent: ChildProcess | null = null;

  const hosts = (address: string): void => writeFileSync(join(netnsEtc, 'hosts'), `127.0.0.1 localhost\n${address} ${NAME}\n`);
  const tunnels = (): TunnelJson[] => {
    const r = spawnSync('node', [CLI, 'tunnels', '--json', '--socket', sock], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`wgbgp tunnels exited ${String(r.status)}: ${r.stderr}`);
    return JSON.parse(r.stdout) as TunnelJson[];
  };
  const tunnel = (name: string): TunnelJson | undefined => tunnels().find((t) => t.name === name);
  const ifindex = (ns: string, ifname: string): number => {
    const r = spawnSync('ip', ['-n', ns, '-j', 'link', 'show', 'dev', ifname], { encoding: 'utf8' });
    return (JSON.parse(r.stdout) as { ifindex: number }[])[0]!.ifindex;
  };
  const pings = (address: string): boolean => spawnSync('ip', ['netns', 'exec', nsA, 'ping', '-c1', '-W1', address]).status === 0;

  /** A bare wireguard-go peer in `ns` that knows A's key and no endpoint: it only answers. */
  async function peer(ns: string, ifname: string, key: string, tunnelAddress: string): Promise<void> {
    const keyFile = join(dir, `${ifname}.key`);
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    spawnIn(ns, ['wireguard-go', '-f', ifname], { log: join(dir, `${ifname}.log`) });
    await until(`${ifname} socket`, () => existsSync(`/var/run/wireguard/${ifname}.sock`), 10_000);
    await execIn(ns, [
      'wg', 'set', ifname, 'private-key', keyFile, 'listen-port', '51820',
      'peer', pub.a, 'allowed-ips', '0.0.0.0/0,::/0',
    ]);
    await execIn(ns, `ip addr add ${tunnelAddress} dev ${ifname} && ip link set ${ifname} up`);
  }

  beforeAll(async () => {
    await createNamespaces(prefix, ['a', 'b', 'c']);
    await withVethPair(nsA, nsB, { nameA: 'eth1', addrA: '198.18.0.1/24', addrB: '198.18.0.2/24' });
    await withVethPair(nsA, nsC, { nameA: 'eth2', addrA: '198.18.1.1/24', addrB: '198.18.1.2/24' });
    await execIn(nsA, [
      'nft',
      'add table inet dnsfw; add chain inet dnsfw in { type filter hook input priority 0; policy accept; }; ' +
        'add rule inet dnsfw in iifname "eth1" meta l4proto udp ct state new drop',
    ]);
    mkdirSync(netnsEtc, { recursive: true });
    hosts('198.18.0.2');
    await peer(nsB, ifB, keys.b, '10.99.0.1/31');
    await peer(nsC, ifC, keys.c, '10.99.0.3/31');

    agent = spawnIn(nsA, [process.execPath, CLI, 'agent', '--config', writeConfig(`${NAME}:51820`)], { log: agentLog });
  }, 60_000);

  /** A's config: B by `endpointB`, C by IP literal. */
  function writeConfig(endpointB: string): string {
    const keyFile = join(dir, 'a.key');
    writeFileSync(keyFile, `${keys.a}\n`, { mode: 0o600 });
    const config = join(dir, 'a.yaml');
    writeFileSync(
      config,
      [
        'router: { asn: 65001, router-id: 192.0.2.1 }',
        `control: { socket: ${sock} }`,
        'dataplane: { wireguard: wireguard-go, fib: none, keep-on-stop: false }',
        `wireguard: { private-key-file: ${keyFile}, reresolve-after: ${RERESOLVE_AFTER} }`,
        'neighbors:',
        `  - { name: b, interface: ${ifAB}, public-key: "${pub.b}", endpoint: "${endpointB}", persistent-keepalive: 2,`,
        '      tunnel: { local: [10.99.0.0/31], remote: [10.99.0.1] }, bgp: { asn: 65002 } }',
        `  - { name: c, interface: ${ifAC}, public-key: "${pub.c}", endpoint: "198.18.1.2:51820", persistent-keepalive: 2,`,
        '      tunnel: { local: [10.99.0.2/31], remote: [10.99.0.3] }, bgp: { asn: 65003 } }',
        '',
      ].join('\n'),
    );
    return config;
  }

  /** SIGTERM to the agent (`ip netns exec` execs: the child is the agent) and its exit. */
  async function stopAgent(): Promise<void> {
    const child = agent;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
  }

  afterAll(async () => {
    await stopAgent();
    await cleanupPrefix(prefix);
    rmSync(netnsEtc, { recursive: true, force: true });
    // /etc/netns itself only when no other namespace has a folder there.
    try {
      rmdirSync('/etc/netns');
    } catch {
      // not empty, or already gone
    }
    for (const f of readdirSync('/run/wgbgp').filter((x) => x.startsWith(prefix))) rmSync(join('/run/wgbgp', f), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('resolved at start through the namespace hosts file; after the move, re-resolved onto that peer only', async () => {
    try {
      const b0 = await until('a handshake with B at its resolved address', () => {
        const t = tunnel('b');
        return t?.latestHandshake && t.endpoint === '198.18.0.2:51820' ? t : undefined;
      }, 30_000);
      expect(b0.endpointName).toBe(`${NAME}:51820`);
      expect(b0.endpointError).toBeNull();
      const c0 = await until('a handshake with C', () => tunnel('c')?.latestHandshake ?? undefined, 30_000);
      expect(tunnel('c')).toMatchObject({ endpoint: '198.18.1.2:51820', endpointName: null, endpointError: null });
      await until('pings to B through its tunnel', () => pings('10.99.0.1'), 15_000);
      const index = { b: ifindex(nsA, ifAB), c: ifindex(nsA, ifAC) };

      // B moves to another underlay address, and its name follows.
      await execIn(nsB, 'ip addr del 198.18.0.2/24 dev eth1 && ip addr add 198.18.0.3/24 dev eth1');
      hosts('198.18.0.3');
      const moved = Date.now();
      expect(pings('10.99.0.1')).toBe(false);

      await until('the agent sets the new address', () => tunnel('b')?.endpoint === '198.18.0.3:51820', 90_000);
      await until('pings to B through its tunnel again', () => pings('10.99.0.1'), 15_000);
      console.log(`dns endpoint: tunnel back ${Math.round((Date.now() - moved) / 1000)} s after the move (reresolve-after ${RERESOLVE_AFTER} s)`);

      expect(ifindex(nsA, ifAB)).toBe(index.b);
      expect(ifindex(nsA, ifAC)).toBe(index.c);
      const c1 = tunnel('c');
      expect(c1).toMatchObject({ endpoint: '198.18.1.2:51820', up: true });
      // C's handshake stays or is renewed by its own rekey, never lost.
      expect(Date.parse(c1?.latestHandshake ?? '')).toBeGreaterThanOrEqual(Date.parse(c0));
      expect(pings('10.99.0.3')).toBe(true);
      // The agent's log reaches the file in batches: complete once it has stopped.
      await stopAgent();
      const lines = readFileSync(agentLog, 'utf8').split('\n').filter((l) => l.includes('endpoint set from its name'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('"neighbor":"b"');
      expect(lines[0]).toContain('198.18.0.3:51820');
    } catch (err) {
      console.log(readFileSync(agentLog, 'utf8').split('\n').slice(-40).join('\n'));
      throw err;
    }
  }, 150_000);
  it('a name that does not resolve at start: the tunnel waits without endpoint, tunnels says why, and it is set once the name resolves', async () => {
    const late = 'peer-late.wgbgp.test';
    const log = join(dir, 'agent-late.log');
    await stopAgent();
    await execIn(nsB, 'ip addr flush dev eth1 && ip addr add 198.18.0.4/24 dev eth1');
    writeFileSync(join(netnsEtc, 'hosts'), '127.0.0.1 localhost\n');
    agent = spawnIn(nsA, [process.execPath, CLI, 'agent', '--config', writeConfig(`${late}:51820`)], { log });
    try {
      const t = await until('the resolution error in tunnels', () => {
        const b = tunnel('b');
        return b?.endpointError ? b : undefined;
      }, 20_000);
      expect(t).toMatchObject({ endpoint: null, endpointName: `${late}:51820` });
      expect(t.endpointError).toMatch(/ENOTFOUND|EAI_AGAIN/);
      const text = spawnSync('node', [CLI, 'tunnels', '--socket', sock], { encoding: 'utf8' }).stdout;
      expect(text).toContain(`(${late}:51820 unresolved)`);
      expect(text).toContain(`b: endpoint ${late}:51820, does not resolve:`);
      await until('pings to C meanwhile', () => pings('10.99.0.3'), 15_000);

      writeFileSync(join(netnsEtc, 'hosts'), `127.0.0.1 localhost\n198.18.0.4 ${late}\n`);
      const added = Date.now();
      // Tried 5 s, 10 s, 20 s … after the first failure.
      await until('the endpoint set from the name', () => tunnel('b')?.endpoint === '198.18.0.4:51820', 45_000);
      expect(tunnel('b')?.endpointError).toBeNull();
      await until('pings to B through its tunnel', () => pings('10.99.0.1'), 15_000);
      console.log(`dns endpoint: a name added to the hosts file was used ${Math.round((Date.now() - added) / 1000)} s later`);
    } catch (err) {
      await stopAgent();
      console.log(readFileSync(log, 'utf8').split('\n').slice(-40).join('\n'));
      throw err;
    }
  }, 120_000);
});
