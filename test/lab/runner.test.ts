import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  labDown,
  labTest,
  labUp,
  loadTopology,
  mapCommandPaths,
  parseLabTest,
  parseTopology,
  planNodeProcesses,
  readState,
  splitWords,
} from '#lab/index';
import { listNetns, processAlive } from '#lab/netns';
import { copyLab, FIXTURE_LABS, REPO_LABS, removeLabCopy } from './helpers/labs.js';
import { cleanupPrefix, createNamespaces, execIn, netnsSupported, spawnIn, uniqueName, withVethPair } from './helpers/netns.js';

const TWO_SITES = join(REPO_LABS, 'two-sites');

function topo(yaml: string) {
  return () => parseTopology(yaml, '/labs/x/topology.clab.yml');
}

describe('containerlab topology subset', () => {
  it('reads labs/two-sites: two linux nodes, eth1 <-> eth1, exec, the agent as cmd, /etc/wgbgp bound to the node folder', () => {
    const t = loadTopology(TWO_SITES);
    expect(t.name).toBe('two-sites');
    expect(t.nodes.map((n) => [n.name, n.kind])).toEqual([['site-a', 'linux'], ['site-b', 'linux']]);
    expect(t.links).toEqual([{ endpoints: [{ node: 'site-a', interface: 'eth1' }, { node: 'site-b', interface: 'eth1' }], mtu: null }]);
    const [a, b] = t.nodes;
    expect(a!.exec).toContain('ip addr add 198.18.0.1/24 dev eth1');
    expect(b!.exec).toContain('ip addr add 198.18.0.2/24 dev eth1');
    expect(a!.exec).toContain('ip link add lan0 type bridge');
    expect(a!.cmd).toBe('wgbgp agent --config /etc/wgbgp/wgbgp.yaml');
    expect(a!.binds).toEqual([{ host: join(TWO_SITES, 'site-a'), container: '/etc/wgbgp', readOnly: true }]);
  });

  it('rejects kinds other than linux, naming the key', () => {
    expect(topo('name: x\ntopology:\n  nodes:\n    r1:\n      kind: nokia_srlinux\n')).toThrow(
      /topology\.nodes\.r1\.kind: kind "nokia_srlinux" is not supported/,
    );
    expect(topo('name: x\ntopology:\n  nodes:\n    r1: {}\n')).toThrow(/topology\.nodes\.r1\.kind: missing/);
  });

  it('rejects links without exactly two endpoints, to unknown nodes, to host, or reusing an interface', () => {
    const nodes = 'name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux}\n  links:\n';
    expect(topo(`${nodes}    - endpoints: ["a:eth1", "b:eth1", "b:eth2"]\n`)).toThrow(/exactly two endpoints \(got 3\)/);
    expect(topo(`${nodes}    - endpoints: ["a:eth1", "c:eth1"]\n`)).toThrow(/node "c" is not defined/);
    expect(topo(`${nodes}    - endpoints: ["a:eth1", "host:veth-a"]\n`)).toThrow(/"host" endpoints are not supported/);
    expect(topo(`${nodes}    - endpoints: ["a:eth1", "b:eth1"]\n    - endpoints: ["a:eth1", "b:eth2"]\n`)).toThrow(/a:eth1 is used by more than one link/);
    expect(topo(`${nodes}    - endpoints: ["a:eth1", "b:this-name-is-too-long"]\n`)).toThrow(/1-15 characters/);
    expect(topo(`${nodes}    - type: macvlan\n      endpoints: [{node: a, interface: eth1}, {node: b, interface: eth1}]\n`)).toThrow(/only veth links/);
  });

  it('rejects what a namespace cannot honour, by name', () => {
    const node = (extra: string) => topo(`name: x\ntopology:\n  nodes:\n    a:\n      kind: linux\n${extra}`);
    expect(node('      startup-config: a.cfg\n')).toThrow(/topology\.nodes\.a\.startup-config: unknown key/);
    expect(node('      network-mode: host\n')).toThrow(/only network-mode "none"/);
    expect(node('      binds: ["__clabNodeDir__/conf:/conf"]\n')).toThrow(/bind variables/);
    expect(node('      sysctls: {kernel.pid_max: 100}\n')).toThrow(/only net\.\* sysctls/);
    expect(topo('name: x\ntopology:\n  nodes: {a: {kind: linux}}\n  groups: {}\n')).toThrow(/topology\.groups: unknown key/);
    expect(topo('name: "x y"\ntopology:\n  nodes: {a: {kind: linux}}\n')).toThrow(/^topology\.clab\.yml: name:/);
  });

  it('merges defaults, kinds.linux and the node like containerlab: scalars and exec override, env/binds/sysctls merge', () => {
    const t = parseTopology(
      [
        'name: m',
        'topology:',
        '  defaults: {kind: linux, env: {A: "1", B: "1"}, binds: ["/srv/common:/common"], exec: [echo default]}',
        '  kinds:',
        '    linux: {image: "alpine:3", env: {B: 2}, sysctls: {net.ipv4.ip_forward: 1}}',
        '  nodes:',
        '    n1: {env: {C: x}, binds: ["cfg:/etc/app:ro", "~/keys:/keys"]}',
        '    n2: {exec: [echo mine], image: "debian:12"}',
      ].join('\n'),
      '/labs/m/topology.clab.yml',
    );
    const [n1, n2] = t.nodes;
    expect(n1!.env).toEqual({ A: '1', B: '2', C: 'x' });
    expect(n1!.image).toBe('alpine:3');
    expect(n1!.exec).toEqual(['echo default']);
    expect(n1!.sysctls).toEqual({ 'net.ipv4.ip_forward': '1' });
    expect(n1!.binds).toEqual([
      { host: '/srv/common', container: '/common', readOnly: false },
      { host: '/labs/m/cfg', container: '/etc/app', readOnly: true },
      { host: join(homedir(), 'keys'), container: '/keys', readOnly: false },
    ]);
    expect(n2!.exec).toEqual(['echo mine']);
    expect(n2!.image).toBe('debian:12');
  });

  it('maps container paths under binds to host paths in commands, and only whole path components', () => {
    const t = parseTopology('name: p\ntopology:\n  nodes:\n    a:\n      kind: linux\n      binds: ["a:/etc/bird", "a/run:/etc/bird/run"]\n', '/labs/p/topology.clab.yml');
    const a = t.nodes[0]!;
    expect(mapCommandPaths(a, 'bird -c /etc/bird/bird.conf -s /etc/bird/run/ctl')).toBe('bird -c /labs/p/a/bird.conf -s /labs/p/a/run/ctl');
    expect(mapCommandPaths(a, 'cat /etc/birdy /x/etc/bird --conf=/etc/bird')).toBe('cat /etc/birdy /x/etc/bird --conf=/labs/p/a');
  });

  it('splits command lines like sh for plain quoting', () => {
    expect(splitWords(`wgbgp agent --config '/etc/my dir/w.yaml' -x "a \\"b\\"" c\\ d`)).toEqual(['wgbgp', 'agent', '--config', '/etc/my dir/w.yaml', '-x', 'a "b"', 'c d']);
    expect(() => splitWords("sh -c 'oops")).toThrow(/unbalanced/);
  });
});

/** X25519 public key of a wg private key (base64), as `wg pubkey` prints it. */
function wgPubkey(privB64: string): string {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.from(privB64.trim(), 'base64')]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  return spki.subarray(-32).toString('base64');
}

describe('labs/two-sites', () => {
  const cfg = (node: string) => parseYaml(readFileSync(join(TWO_SITES, node, 'wgbgp.yaml'), 'utf8')) as {
    router: { asn: number };
    control: { socket: string };
    neighbors: { name: string; interface: string; 'public-key': string; endpoint: string; 'listen-port': number; tunnel: { local: string[]; remote: string[] }; bgp: { asn: number } }[];
  };

  it('each side names the other: public key from its private.key, endpoint = its underlay:listen-port, mirrored tunnel, its ASN', () => {
    const a = cfg('site-a');
    const b = cfg('site-b');
    const na = a.neighbors[0]!;
    const nb = b.neighbors[0]!;
    expect(na['public-key']).toBe(wgPubkey(readFileSync(join(TWO_SITES, 'site-b', 'private.key'), 'utf8')));
    expect(nb['public-key']).toBe(wgPubkey(readFileSync(join(TWO_SITES, 'site-a', 'private.key'), 'utf8')));
    expect(na.endpoint).toBe(`198.18.0.2:${nb['listen-port']}`);
    expect(nb.endpoint).toBe(`198.18.0.1:${na['listen-port']}`);
    expect(na.tunnel).toEqual({ local: ['10.255.0.0/31', 'fd00:255::/127'], remote: ['10.255.0.1', 'fd00:255::1'] });
    expect(nb.tunnel).toEqual({ local: ['10.255.0.1/31', 'fd00:255::1/127'], remote: ['10.255.0.0', 'fd00:255::'] });
    expect([na.bgp.asn, nb.bgp.asn]).toEqual([b.router.asn, a.router.asn]);
    expect(a.control.socket).not.toBe(b.control.socket);
  });

  it('the namespace runner starts each agent on a rewritten copy: the key as a 0600 copy (git keeps it 0644), the node socket', () => {
    const t = loadTopology(TWO_SITES);
    const procs = planNodeProcesses(t, ['node', 'main.js']);
    expect(procs.map((p) => [p.node, p.kind, p.socket, p.interfaces])).toEqual([
      ['site-a', 'agent', '/run/wgbgp/two-sites-site-a.sock', ['wg-a-b']],
      ['site-b', 'agent', '/run/wgbgp/two-sites-site-b.sock', ['wg-b-a']],
    ]);
    const a = procs[0]!;
    expect(a.argv).toEqual(['node', 'main.js', 'agent', '--config', join(TWO_SITES, '.lab-run', 'site-a.yaml')]);
    const copy = parseYaml(a.config!.text) as { wireguard: { 'private-key-file': string }; announce: string[] };
    expect(copy.wireguard['private-key-file']).toBe(join(TWO_SITES, '.lab-run', 'site-a.key'));
    expect(a.config!.key).toEqual({ source: join(TWO_SITES, 'site-a', 'private.key'), path: join(TWO_SITES, '.lab-run', 'site-a.key') });
    expect(copy.announce).toEqual(['10.1.0.0/24', '2001:db8:1::/48']);
  });

  it('copyLab gives a copy its own lab name, tunnel names and sockets, so tests can run it side by side', () => {
    const name = uniqueName('ts');
    const [wa, wb] = [uniqueName('wa'), uniqueName('wb')];
    const dir = copyLab(TWO_SITES, name, { 'wg-a-b': wa, 'wg-b-a': wb, '/run/wgbgp/two-sites-': `/run/wgbgp/${name}-` });
    try {
      const t = loadTopology(dir);
      expect(t.name).toBe(name);
      const procs = planNodeProcesses(t, ['wgbgp']);
      expect(procs.map((p) => [p.socket, p.interfaces])).toEqual([
        [`/run/wgbgp/${name}-site-a.sock`, [wa]],
        [`/run/wgbgp/${name}-site-b.sock`, [wb]],
      ]);
      expect(readFileSync(join(dir, 'lab-test.yaml'), 'utf8')).toContain(`dev: ${wa}`);
    } finally {
      removeLabCopy(dir);
    }
  });

  it('lab-test.yaml asks for Established neighbors, the remote LAN routes via the tunnel and LAN-to-LAN pings', () => {
    const spec = parseLabTest(readFileSync(join(TWO_SITES, 'lab-test.yaml'), 'utf8'), 'lab-test.yaml');
    expect(spec.timeout).toBe(60);
    expect(spec.assertions).toContainEqual({ node: 'site-a', type: 'neighbor', name: 'site-b', state: 'Established' });
    expect(spec.assertions).toContainEqual({ node: 'site-a', type: 'route', prefix: '2001:db8:2::/48', dev: 'wg-a-b', via: 'fd00:255::1', table: null });
    expect(spec.assertions).toContainEqual({ node: 'site-b', type: 'ping', from: '2001:db8:2::1', to: '2001:db8:1::1' });
    expect(() => parseLabTest('nodes:\n  a:\n    routes:\n      - prefix: 10.0.0.1/8\n', 'lab-test.yaml')).toThrow(/nodes\.a\.routes\[0\]\.prefix/);
    expect(() => parseLabTest('nodes:\n  a:\n    bgp: []\n', 'lab-test.yaml')).toThrow(/nodes\.a\.bgp: unknown key/);
  });
});

describe.skipIf(!netnsSupported())('namespace runner', () => {
  const prefix = uniqueName('lt');
  const copies: string[] = [];
  const lines: string[] = [];
  const opts = { print: (l: string) => void lines.push(l) };
  const lab = (fixture: string): { dir: string; name: string } => {
    const name = uniqueName(prefix);
    const dir = copyLab(join(FIXTURE_LABS, fixture), name);
    copies.push(dir);
    return { dir, name };
  };
  const namespaces = async (name: string): Promise<string[]> => (await listNetns()).filter((n) => n.startsWith(`wgbgp-${name}-`));

  afterAll(async () => {
    for (const dir of copies) {
      await labDown(dir, { print: () => undefined }).catch(() => undefined);
      removeLabCopy(dir);
    }
    await cleanupPrefix(`wgbgp-${prefix}`);
  });

  it('up: namespaces, a veth per link, exec in order, the node cmd; pings cross the veth; down removes it all', async () => {
    const { dir, name } = lab('mini');
    await labUp(dir, opts);
    const nsA = `wgbgp-${name}-a`;
    const nsB = `wgbgp-${name}-b`;
    expect((await namespaces(name)).sort()).toEqual([nsA, nsB]);
    await execIn(nsA, 'ping -c1 -W2 198.19.0.2');
    await execIn(nsB, 'ping -c1 -W2 -I 10.92.0.1 10.91.0.1');
    expect((await execIn(nsA, 'ip -j addr show dev lan0')).stdout).toContain('10.91.0.1');

    const state = readState(join(dir, '.lab-run'))!;
    expect(state.nodes.a!.netns).toBe(nsA);
    const pid = state.nodes.a!.pid!;
    expect(processAlive(pid)).toBe(true);
    expect(state.nodes.b!.pid).toBeNull();

    await expect(labUp(dir, opts)).rejects.toThrow(/already up/);

    expect(await labTest(dir, opts)).toBe(true);
    expect(lines.filter((l) => l.startsWith('PASS'))).toHaveLength(6);

    await labDown(dir, opts);
    expect(await namespaces(name)).toEqual([]);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(join(dir, '.lab-run', 'state.json'))).toBe(false);
    lines.length = 0;
    await labDown(dir, opts);
    expect(lines).toEqual([`lab ${name}: nothing was running`]);
  });

  it('test: an assertion that never holds is a FAIL line with what was seen, and the result is false', async () => {
    const { dir } = lab('mini');
    writeFileSync(join(dir, 'lab-test.yaml'), 'timeout: 1.5\nnodes:\n  a:\n    routes:\n      - {prefix: 10.92.0.0/24, dev: lan0}\n    pings:\n      - {to: 198.19.0.2}\n');
    await labUp(dir, opts);
    lines.length = 0;
    expect(await labTest(dir, opts)).toBe(false);
    expect(lines[0]).toMatch(/^FAIL {2}a: route 10\.92\.0\.0\/24 dev lan0 {2}\(10\.92\.0\.0\/24 via 198\.19\.0\.2 dev eth1/);
    expect(lines[1]).toMatch(/^PASS {2}a: ping 198\.19\.0\.2/);
    await labDown(dir, opts);
  });

  it('down after a crash: without state.json the namespaces are found by the wgbgp-<lab>- prefix', async () => {
    const { dir, name } = lab('mini');
    await labUp(dir, opts);
    const pid = readState(join(dir, '.lab-run'))!.nodes.a!.pid!;
    rmSync(join(dir, '.lab-run', 'state.json'));
    await labDown(dir, opts);
    expect(await namespaces(name)).toEqual([]);
    expect(processAlive(pid)).toBe(false);
  });

  it('a failing exec stops `up` with the command and its error, and leaves nothing behind', async () => {
    const { dir, name } = lab('mini');
    const file = join(dir, 'topology.clab.yml');
    const t = parseYaml(readFileSync(file, 'utf8')) as { topology: { nodes: { b: { exec: string[] } } } };
    t.topology.nodes.b.exec.push('ip addr add 10.0.0.1/24 dev nosuchdev');
    writeFileSync(file, stringifyYaml(t));
    await expect(labUp(dir, opts)).rejects.toThrow(/node b: exec `ip addr add 10\.0\.0\.1\/24 dev nosuchdev` failed/);
    expect(await namespaces(name)).toEqual([]);
  });

  const fakeCli = [process.execPath, join(FIXTURE_LABS, 'fake-wgbgp.mjs')];

  it('agents: started on rewritten configs with per-node sockets, awaited, queried by `lab test`, stopped by `down`', async () => {
    const { dir, name } = lab('fake-agents');
    await labUp(dir, { ...opts, cli: fakeCli });
    const state = readState(join(dir, '.lab-run'))!;
    const x = state.nodes.x!;
    const y = state.nodes.y!;
    // x names no socket and y names the host's default: both get the lab's own.
    expect([x.socket, y.socket]).toEqual([`/run/wgbgp/${name}-x.sock`, `/run/wgbgp/${name}-y.sock`]);
    expect(x.interfaces).toEqual(['wgfake-x-y']);
    const log = readFileSync(x.log!, 'utf8');
    expect(log).toContain(`key ${join(dir, 'x', 'private.key')}`);
    expect(readFileSync(y.log!, 'utf8')).toContain(`key ${join(dir, 'y', 'private.key')}`);

    lines.length = 0;
    expect(await labTest(dir, opts)).toBe(true);
    expect(lines[0]).toMatch(/^PASS {2}x: neighbor y Established {2}\(state Established, 2 prefixes received;/);
    expect(lines[1]).toMatch(/^PASS {2}x: ping 198\.19\.1\.1 -> 198\.19\.1\.2 {2}\([\d.]+ ms;/);
    expect(lines[2]).toMatch(/^PASS {2}y: neighbor x Established/);
    expect(lines[3]).toBe(`lab ${name}: 3/3 assertions hold`);

    await labDown(dir, opts);
    expect(processAlive(x.pid!)).toBe(false);
    expect(existsSync(x.socket!)).toBe(false);
    expect(await namespaces(name)).toEqual([]);
  });

  it('an agent that exits during start fails `up` with its log tail, and the lab is torn down', async () => {
    const { dir, name } = lab('fake-agents');
    const file = join(dir, 'topology.clab.yml');
    const t = parseYaml(readFileSync(file, 'utf8')) as { topology: { nodes: { y: { env?: Record<string, string> } } } };
    t.topology.nodes.y.env = { FAKE_AGENT_FAIL: '1' };
    writeFileSync(file, stringifyYaml(t));
    await expect(labUp(dir, { ...opts, cli: fakeCli })).rejects.toThrow(/node y: the agent exited during start[\s\S]*failing on purpose/);
    expect(await namespaces(name)).toEqual([]);
  });

  it('an agent that never answers fails `up` after the timeout, with its log tail', async () => {
    const { dir, name } = lab('fake-agents');
    const file = join(dir, 'topology.clab.yml');
    const t = parseYaml(readFileSync(file, 'utf8')) as { topology: { nodes: { x: { env?: Record<string, string> } } } };
    t.topology.nodes.x.env = { FAKE_AGENT_SILENT: '1' };
    writeFileSync(file, stringifyYaml(t));
    await expect(labUp(dir, { ...opts, cli: fakeCli, agentTimeoutMs: 1_500 })).rejects.toThrow(
      /node x: the agent did not answer on \/run\/wgbgp\/.*-x\.sock within 2 s \(cannot reach the agent[\s\S]*never answering/,
    );
    expect(await namespaces(name)).toEqual([]);
  });
});

describe('netns test helpers', () => {
  it('uniqueName: at most 15 characters (an interface name), different every time', () => {
    const names = new Set(Array.from({ length: 200 }, () => uniqueName('a-rather-long-base')));
    expect(names.size).toBe(200);
    for (const n of names) expect(n).toMatch(/^a-rather-[0-9a-z]{6}$/);
    expect(uniqueName('wg')).toMatch(/^wg-[0-9a-z]{6}$/);
  });

  it.skipIf(!netnsSupported())('namespaces, a dual-stack veth pair, a process inside; cleanupPrefix removes them all', async () => {
    const prefix = uniqueName('ht');
    try {
      const [a, b] = await createNamespaces(prefix);
      expect([a, b]).toEqual([`${prefix}-a`, `${prefix}-b`]);
      const pair = await withVethPair(a!, b!, { nameA: 'up0', addrA: ['198.18.9.1/24', 'fd00:9::1/64'], addrB: ['198.18.9.2/24', 'fd00:9::2/64'] });
      expect(pair).toEqual({ a: 'up0', b: 'eth1' });
      await execIn(a!, 'ping -c1 -W2 198.18.9.2');
      await execIn(b!, ['ping', '-6', '-c1', '-W2', 'fd00:9::1']);
      const r = await execIn(a!, 'exit 3', { check: false });
      expect(r.code).toBe(3);
      await expect(execIn(a!, 'echo nope >&2; exit 1')).rejects.toThrow(/exited 1: nope/);
      const child = spawnIn(b!, ['sleep', '600']);
      await new Promise((res) => child.once('spawn', res));
      expect(processAlive(child.pid!)).toBe(true);

      await cleanupPrefix(prefix);
      expect((await listNetns()).filter((n) => n.startsWith(prefix))).toEqual([]);
      expect(processAlive(child.pid!)).toBe(false);
    } finally {
      await cleanupPrefix(prefix);
    }
  });
});
