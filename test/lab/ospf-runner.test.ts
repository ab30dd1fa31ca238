/**
 * FRR in the namespace runner (src/lab/frr.ts): how a node's exec list is
 * planned (pathspace, config copy, pid file, log; what is refused and why),
 * how the agent config is pointed at the node's FRR, the lab-test.yaml
 * additions (ospf, route protocol, vtysh in the pathspace), the files of
 * labs/ospf-triangle; then, with root and FRR, a lab of bare FRR nodes: up,
 * down, down after a crash, and failures half-way that leave nothing behind.
 */
import { createPublicKey, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  frrOfNode,
  labDown,
  labTest,
  labUp,
  loadTopology,
  parseLabTest,
  parseTopology,
  planNodeExec,
  planNodeProcesses,
  readState,
  rewriteAgentConfig,
  withVtyshPathspace,
} from '#lab/index';
import { FRR_RUN, findFrrDaemons } from '#lab/frr';
import { deleteNetns, listNetns } from '#lab/netns';
import { frrMissing } from '../ospf-bridge/helpers/frr-netns.js';
import { REPO_LABS } from './helpers/labs.js';
import { cleanupPrefix, uniqueName } from './helpers/netns.js';

const CI = process.env.CI === 'true';
const frrAbsent = frrMissing(['zebra', 'ospfd']);
if (frrAbsent !== null && !CI) console.log(`lab/ospf-runner: live part skipped: ${frrAbsent}`);

const FILE = '/labs/x/topology.clab.yml';
const RUN = '/labs/x/.lab-run';

function node(exec: string[], extra: Record<string, unknown> = {}) {
  const t = parseTopology(JSON.stringify({ name: 'x', topology: { nodes: { r: { kind: 'linux', binds: ['r:/etc/wgbgp:ro'], exec, ...extra } } } }), FILE);
  return { t, n: t.nodes[0]! };
}

const plan = (exec: string[], extra: Record<string, unknown> = {}) => {
  const { t, n } = node(exec, extra);
  return planNodeExec(t, n, RUN);
};

describe('FRR in a node: how exec is planned', () => {
  it('zebra, ospfd, ospf6d: the node pathspace, a config copy, pid file and log in .lab-run/frr/<node>; the rest as written', () => {
    const p = plan([
      'ip link set eth1 up',
      '/usr/lib/frr/zebra -d -M dplane_fpm_nl -f /etc/wgbgp/frr/zebra.conf -i /var/run/frr/zebra.pid',
      '/usr/lib/frr/ospfd -d -A 127.0.0.1 --config_file=/etc/wgbgp/frr/ospfd.conf --log syslog',
      '/usr/lib/frr/ospf6d -d',
      "vtysh -c 'show version'",
    ]);
    expect(p.frr?.pathspace).toBe('wgbgp-x-r');
    expect(p.frr?.dir).toBe(`${RUN}/frr/r`);
    expect(p.steps.map((s) => s.kind)).toEqual(['shell', 'frr', 'frr', 'frr', 'shell']);
    const [zebra, ospfd, ospf6d] = p.frr!.daemons;
    expect(zebra).toMatchObject({
      daemon: 'zebra',
      argv: ['/usr/lib/frr/zebra', '-N', 'wgbgp-x-r', '-f', `${RUN}/frr/r/zebra.conf`, '-i', `${RUN}/frr/r/zebra.pid`, '--log', `file:${RUN}/frr/r/zebra.log`, '-d', '-M', 'dplane_fpm_nl'],
      configSource: '/labs/x/r/frr/zebra.conf',
      modules: ['dplane_fpm_nl'],
      user: 'frr',
    });
    expect(ospfd!.argv.slice(9)).toEqual(['-d', '-A', '127.0.0.1']);
    expect(ospfd!.configSource).toBe('/labs/x/r/frr/ospfd.conf');
    // No -f: an empty copy, never /etc/frr/<pathspace>/ospf6d.conf on the host.
    expect(ospf6d).toMatchObject({ configSource: null, config: `${RUN}/frr/r/ospf6d.conf` });
    expect(p.steps[4]).toEqual({ kind: 'shell', command: "vtysh -N wgbgp-x-r -c 'show version'" });
    expect(p.steps[0]).toEqual({ kind: 'shell', command: 'ip link set eth1 up' });
  });

  it('a node without FRR runs its exec list as before; a vtysh there would reach the host FRR, unless it names a pathspace', () => {
    const p = plan(['ip link set eth1 up', 'vtysh -N elsewhere -c x']);
    expect(p.frr).toBeNull();
    expect(p.steps).toEqual([{ kind: 'shell', command: 'ip link set eth1 up' }, { kind: 'shell', command: 'vtysh -N elsewhere -c x' }]);
    expect(() => plan(['vtysh -c x'])).toThrow(/node r: exec `vtysh -c x`: the node starts no FRR, so vtysh would reach the host's/);
  });

  it('refuses what would leave the node pathspace or reach the host FRR, naming the command and why', () => {
    const z = '/usr/lib/frr/zebra -d';
    expect(() => plan([`${z} -N mine`])).toThrow(/node r: exec `\/usr\/lib\/frr\/zebra -d -N mine`: -N: the runner gives each node its own pathspace/);
    expect(() => plan([`${z} --vty_socket /tmp/x`])).toThrow(/--vty_socket: the vty sockets live in the node's pathspace/);
    expect(() => plan(['/usr/lib/frr/zebra -f /etc/wgbgp/z.conf'])).toThrow(/start FRR daemons with -d/);
    expect(() => plan([`${z} -f /etc/frr/zebra.conf`])).toThrow(/-f \/etc\/frr\/zebra\.conf is not under any of the node's binds \(\/labs\/x\/r:\/etc\/wgbgp\)/);
    expect(() => plan([`${z} -f zebra.conf`])).toThrow(/absolute container path/);
    expect(() => plan([`${z} -f`])).toThrow(/-f needs a value/);
    expect(() => plan(['/usr/lib/frr/ospfd -d'])).toThrow(/node r: exec starts ospfd but no zebra/);
    expect(() => plan(['/usr/lib/frr/ospfd -d', z])).toThrow(/starts ospfd before zebra/);
    expect(() => plan([z, z])).toThrow(/starts zebra twice/);
    expect(() => plan([z, '/usr/lib/frr/watchfrr zebra ospfd'])).toThrow(/watchfrr manages the host's FRR/);
    expect(() => plan(['/usr/lib/frr/frrinit.sh start'])).toThrow(/frrinit\.sh manages the host's FRR/);
    expect(() => plan([z, "sh -c '/usr/lib/frr/ospfd -d'"])).toThrow(/start each FRR daemon as an exec entry of its own/);
    expect(() => plan([], { cmd: '/usr/lib/frr/bgpd' })).toThrow(/node r: cmd `\/usr\/lib\/frr\/bgpd`: start FRR daemons from exec with -d/);
  });

  it('vtysh gets the pathspace once, after the program', () => {
    expect(withVtyshPathspace("vtysh -c 'show ip ospf neighbor'", 'ps')).toBe("vtysh -N ps -c 'show ip ospf neighbor'");
    expect(withVtyshPathspace('/usr/bin/vtysh', 'ps')).toBe('/usr/bin/vtysh -N ps');
    expect(withVtyshPathspace('vtysh -N other -c x', 'ps')).toBe('vtysh -N other -c x');
    expect(withVtyshPathspace('ip route', 'ps')).toBe('ip route');
  });
});

describe('FRR in a node: the agent config', () => {
  const fpm = ['/usr/lib/frr/zebra -d -M dplane_fpm_nl', '/usr/lib/frr/ospfd -d'];
  const rewrite = (exec: string[], config: string): string => {
    const { n } = node(exec);
    return rewriteAgentConfig(config, '/labs/x/r/wgbgp.yaml', n, 'x').text;
  };
  const pathspaceOf = (text: string): unknown => (parseYaml(text) as { ospf?: { frr?: { pathspace?: unknown } } }).ospf?.frr?.pathspace;

  it('ospf: the bridge is pointed at the node FRR (its pathspace); FPM stays on the node own 127.0.0.1', () => {
    expect(pathspaceOf(rewrite(fpm, 'ospf: {}\n'))).toBe('wgbgp-x-r');
    const text = rewrite(fpm, "ospf:\n  frr:\n    pathspace: elsewhere\n    fpm-listen: '127.0.0.1:2620'\n");
    expect(parseYaml(text)).toMatchObject({ ospf: { frr: { pathspace: 'wgbgp-x-r', 'fpm-listen': '127.0.0.1:2620' } } });
    expect(frrOfNode('x', node(fpm).n)).toEqual({ pathspace: 'wgbgp-x-r', zebraModules: ['dplane_fpm_nl'] });
  });

  it('without ospf (or ospf: null) nothing changes', () => {
    expect(pathspaceOf(rewrite(fpm, 'router: {asn: 1}\n'))).toBeUndefined();
    expect(rewrite(fpm, 'ospf: null\n')).toMatch(/^ospf: null$/m);
  });

  it('refuses ospf: on a node that starts no FRR (the agent would drive the host FRR), unless a pathspace is named', () => {
    expect(() => rewrite(['ip link set eth1 up'], 'ospf: {}\n')).toThrow(/node r: the agent config has ospf:, but the node starts no FRR/);
    expect(pathspaceOf(rewrite([], 'ospf: {frr: {pathspace: theirs}}\n'))).toBe('theirs');
  });

  it('refuses ospf: when zebra runs without the FPM module', () => {
    expect(() => rewrite(['/usr/lib/frr/zebra -d', '/usr/lib/frr/ospfd -d'], 'ospf: {}\n')).toThrow(/zebra must load the FPM module: add -M dplane_fpm_nl/);
  });
});

describe('lab-test.yaml: ospf neighbors and route protocols', () => {
  it('reads ospf assertions (default Full, both families) and a route protocol', () => {
    const spec = parseLabTest(
      'nodes:\n  a:\n    ospf:\n      - neighbor: b\n      - {neighbor: c, family: ipv6, state: 2-Way}\n    routes:\n      - {prefix: 10.2.0.0/24, protocol: ospf}\n      - {prefix: 10.3.0.0/24, protocol: 201, table: 100}\n',
      'lab-test.yaml',
    );
    expect(spec.assertions).toEqual([
      { node: 'a', type: 'ospf', neighbor: 'b', family: null, state: 'Full' },
      { node: 'a', type: 'ospf', neighbor: 'c', family: 'ipv6', state: '2-Way' },
      { node: 'a', type: 'route', prefix: '10.2.0.0/24', dev: null, via: null, table: null, protocol: 'ospf' },
      { node: 'a', type: 'route', prefix: '10.3.0.0/24', dev: null, via: null, table: '100', protocol: '201' },
    ]);
    expect(() => parseLabTest('nodes:\n  a:\n    ospf:\n      - {neighbor: b, state: Up}\n', 'lab-test.yaml')).toThrow(/nodes\.a\.ospf\[0\]\.state: one of Down, Attempt/);
    expect(() => parseLabTest('nodes:\n  a:\n    ospf:\n      - {neighbor: b, family: v4}\n', 'lab-test.yaml')).toThrow(/nodes\.a\.ospf\[0\]\.family: ipv4 or ipv6/);
  });
});

describe('labs/ospf-triangle', () => {
  const LAB = join(REPO_LABS, 'ospf-triangle');
  interface Cfg {
    router: { asn: number; 'router-id': string };
    control: { socket: string };
    ospf: Record<string, unknown> | null;
    neighbors: { name: string; interface: string; 'public-key': string; endpoint: string; 'listen-port': number; tunnel: { local: string[]; remote: string[] }; bgp?: { asn: number }; ospf: { 'hello-interval': number; 'dead-interval': number } }[];
  }
  const cfg = (site: string): Cfg => parseYaml(readFileSync(join(LAB, site, 'wgbgp.yaml'), 'utf8')) as Cfg;
  const pubkey = (file: string): string => {
    const raw = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw]);
    const der = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    return der.subarray(-32).toString('base64');
  };
  const underlay: Record<string, Record<string, string>> = {
    'site-a': { 'site-b': '198.18.12.1', 'site-c': '198.18.13.1', 'site-e': '198.18.15.1' },
    'site-b': { 'site-a': '198.18.12.2', 'site-c': '198.18.23.2' },
    'site-c': { 'site-a': '198.18.13.3', 'site-b': '198.18.23.3', 'site-d': '198.18.34.3' },
    'site-e': { 'site-a': '198.18.15.5' },
  };

  it('every OSPF site: FRR with FPM in exec, ospf: on (site-a hands BGP to OSPF), hello 1 / dead 4 on every OSPF tunnel; BGP between A and B, and to the BGP-only site-e', () => {
    const t = loadTopology(LAB);
    for (const site of ['site-a', 'site-b', 'site-c']) {
      const n = t.nodes.find((x) => x.name === site)!;
      expect(frrOfNode(t.name, n)?.zebraModules).toEqual(['dplane_fpm_nl']);
      expect(planNodeExec(t, n, join(LAB, '.lab-run')).frr?.daemons.map((d) => d.daemon)).toEqual(['zebra', 'ospfd', 'ospf6d']);
      const c = cfg(site);
      expect(c.ospf).toEqual(site === 'site-a' ? { 'redistribute-bgp': true } : {});
      for (const nb of c.neighbors) expect(nb.ospf).toEqual(nb.name === 'site-e' ? undefined : { 'hello-interval': 1, 'dead-interval': 4 });
      expect(c.neighbors.filter((nb) => nb.bgp !== undefined).map((nb) => nb.name)).toEqual(site === 'site-a' ? ['site-b', 'site-e'] : site === 'site-b' ? ['site-a'] : []);
    }
    expect(t.nodes.find((x) => x.name === 'site-d')!.cmd).toMatch(/^bird -f /);
    const procs = planNodeProcesses(t, ['wgbgp']);
    for (const p of procs.filter((x) => x.kind === 'agent' && x.node !== 'site-e')) {
      expect(parseYaml(p.config!.text)).toMatchObject({ ospf: { frr: { pathspace: `wgbgp-ospf-triangle-${p.node}` } } });
    }
  });

  it('each tunnel is mirrored: keys from the private keys, endpoint = underlay:listen-port, tunnel addresses, interface names', () => {
    for (const [site, peers] of Object.entries(underlay)) {
      for (const nb of cfg(site).neighbors) {
        expect(nb['public-key']).toBe(pubkey(join(LAB, nb.name, 'private.key')));
        if (nb.name === 'site-d') {
          const exec = loadTopology(LAB).nodes.find((x) => x.name === 'site-d')!.exec.join('\n');
          expect(exec).toContain(`peer ${pubkey(join(LAB, site, 'private.key'))} endpoint ${peers['site-d']}:${nb['listen-port']}`);
          expect(nb.endpoint).toMatch(/^198\.18\.34\.4:51843$/);
          expect(exec).toContain(`ip addr add ${nb.tunnel.remote[0]}/31 dev wgo-d-c`);
          continue;
        }
        const back = cfg(nb.name).neighbors.find((x) => x.name === site)!;
        expect(nb.endpoint).toBe(`${underlay[nb.name]![site]}:${back['listen-port']}`);
        expect(nb.tunnel.remote).toEqual(back.tunnel.local.map((l) => l.split('/')[0]));
        expect(nb.interface).toBe(`wgo-${site.slice(-1)}-${nb.name.slice(-1)}`);
      }
    }
  });
});

describe.skipIf(frrAbsent !== null && !CI)('FRR nodes in namespaces: up, down, crash, failures', () => {
  const prefix = uniqueName('fr');
  const dirs: string[] = [];
  const quiet = { print: () => undefined };

  /** A lab of two bare FRR nodes (zebra + ospfd over a veth), no agent. */
  const makeLab = (edit: (exec: string[]) => string[] = (e) => e): { dir: string; name: string } => {
    const name = uniqueName(prefix);
    const dir = mkdtempSync(join(tmpdir(), `wgbgp-frr-lab-${name}-`));
    chmodSync(dir, 0o755);
    dirs.push(dir);
    const nodes: Record<string, unknown> = {};
    for (const [n, addr] of [['r1', '198.19.7.1'], ['r2', '198.19.7.2']] as const) {
      mkdirSync(join(dir, n));
      writeFileSync(join(dir, n, 'ospfd.conf'), `hostname ${n}\ninterface eth1\n ip ospf area 0\n ip ospf hello-interval 1\n ip ospf dead-interval 4\nexit\nrouter ospf\n ospf router-id ${addr}\nexit\n`);
      nodes[n] = {
        kind: 'linux',
        binds: [`${n}:/etc/frr-lab:ro`],
        exec: edit([
          `ip addr add ${addr}/24 dev eth1`,
          '/usr/lib/frr/zebra -d',
          '/usr/lib/frr/ospfd -d -f /etc/frr-lab/ospfd.conf',
        ]),
      };
    }
    writeFileSync(join(dir, 'topology.clab.yml'), JSON.stringify({ name, topology: { nodes, links: [{ endpoints: ['r1:eth1', 'r2:eth1'] }] } }));
    writeFileSync(join(dir, 'lab-test.yaml'), "timeout: 20\nnodes:\n  r1:\n    commands:\n      - run: vtysh -c 'show ip ospf neighbor'\n        expect: Full\n");
    return { dir, name };
  };
  const spaces = (name: string): string[] => [`wgbgp-${name}-r1`, `wgbgp-${name}-r2`];
  const leftovers = async (name: string): Promise<string[]> => [
    ...(await listNetns()).filter((n) => n.startsWith(`wgbgp-${name}-`)),
    ...findFrrDaemons(spaces(name)).map((d) => `${d.daemon} pid ${d.pid}`),
    ...spaces(name).filter((s) => existsSync(join(FRR_RUN, s))).map((s) => join(FRR_RUN, s)),
  ];

  afterAll(async () => {
    for (const dir of dirs) {
      await labDown(dir, quiet).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
    await cleanupPrefix(`wgbgp-${prefix}`);
  });

  it('up: each node FRR in its own pathspace, adjacent over the veth; vtysh in lab-test reaches it; down leaves nothing', async () => {
    const { dir, name } = makeLab();
    await labUp(dir, quiet);
    const st = readState(join(dir, '.lab-run'))!;
    expect(st.nodes.r1!.frr).toMatchObject({ pathspace: `wgbgp-${name}-r1`, daemons: [{ name: 'zebra' }, { name: 'ospfd' }] });
    expect(findFrrDaemons(spaces(name))).toHaveLength(4);
    // The config copy is FRR's (write memory goes there), the original stays as it was.
    expect(readFileSync(join(dir, '.lab-run', 'frr', 'r1', 'ospfd.conf'), 'utf8')).toBe(readFileSync(join(dir, 'r1', 'ospfd.conf'), 'utf8'));
    const lines: string[] = [];
    expect(await labTest(dir, { print: (l) => lines.push(l) })).toBe(true);
    expect(lines[0]).toMatch(/^PASS {2}r1: `vtysh -c 'show ip ospf neighbor'` prints "Full"/);
    await expect(labUp(dir, quiet)).rejects.toThrow(/already up/);
    await labDown(dir, quiet);
    expect(await leftovers(name)).toEqual([]);
    expect(existsSync(join(dir, '.lab-run', 'frr', 'r1', 'zebra.pid'))).toBe(false);
    expect(readFileSync(join(dir, '.lab-run', 'frr', 'r1', 'zebra.log'), 'utf8')).toMatch(/zebra \d+\.\d+\.\d+ starting/);
  }, 60_000);

  it('down after a crash: without state.json the daemons are found by pid file and pathspace', async () => {
    const { dir, name } = makeLab();
    await labUp(dir, quiet);
    rmSync(join(dir, '.lab-run', 'state.json'));
    await labDown(dir, quiet);
    expect(await leftovers(name)).toEqual([]);
  }, 60_000);

  it('down after the namespaces are gone: daemons still running in a deleted namespace are stopped by pathspace', async () => {
    const { dir, name } = makeLab();
    await labUp(dir, quiet);
    const pids = findFrrDaemons(spaces(name)).map((d) => d.pid);
    // What a crashed runner may leave: `ip netns del` does not stop the processes inside.
    for (const ns of spaces(name)) await deleteNetns(ns);
    expect(findFrrDaemons(spaces(name)).map((d) => d.pid).sort()).toEqual(pids.sort());
    await labDown(dir, quiet);
    expect(await leftovers(name)).toEqual([]);
  }, 60_000);

  it('a failing exec after the daemons started: up fails, and no daemon or pathspace is left', async () => {
    const { dir, name } = makeLab((e) => [...e, 'ip link set nosuchdev up']);
    await expect(labUp(dir, quiet)).rejects.toThrow(/node r1: exec `ip link set nosuchdev up` failed/);
    expect(await leftovers(name)).toEqual([]);
  }, 60_000);

  it('a daemon that does not start: up fails with its log, and the lab is torn down', async () => {
    const { dir, name } = makeLab((e) => e.map((c) => (c.startsWith('/usr/lib/frr/zebra') ? `${c} -M no_such_module` : c)));
    await expect(labUp(dir, quiet)).rejects.toThrow(/node r1: zebra (failed to start|exited during start|did not open)[\s\S]*no_such_module/);
    expect(await leftovers(name)).toEqual([]);
  }, 60_000);

  it('a lab folder the FRR user cannot enter is refused before anything is built', async () => {
    const { dir, name } = makeLab();
    chmodSync(dir, 0o700);
    await expect(labUp(dir, quiet)).rejects.toThrow(new RegExp(`node r1: FRR's daemons run as uid \\d+ and must reach .*, but cannot enter ${dir} \\(mode 700\\); chmod o\\+x`));
    expect(await leftovers(name)).toEqual([]);
    chmodSync(dir, 0o755);
  }, 30_000);
});
