/**
 * What the agent loads for the configuration it has (docs/performance.md "Where
 * the resident set goes"): with a Linux dataplane and no BFD, OSPF or metrics
 * listener, none of the VPP client and its message tables, the BFD engine, the
 * OSPF bridge, prom-client or the CLI's commands and tables is in the process,
 * nor the configuration's parser and schemas once it is loaded.
 * A reload that turns BFD on loads it then, and its sessions run. The real agent
 * (dist/, `npm run build`) in a namespace of its own, every ES module it loads
 * recorded by a loader hook (test/helpers/module-trace.mjs).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, publicKeyOf } from '#wg/keys';
import type { NeighborJson } from '#api/types';
import { TestNetns } from '../netlink/netns.js';
import { CLI, cli, reload, until } from '../lab/helpers/agents.js';

const TRACE_HOOK = fileURLToPath(new URL('../helpers/module-trace.mjs', import.meta.url));

/** Modules a Linux-only agent without BFD, OSPF or metrics has no use for. */
const UNUSED = [
  /\/dist\/vpp\//,
  /\/dist\/wg\/vpp(-records)?\.js$/,
  /\/dist\/fib\/vpp(-pic|-writes)?\.js$/,
  /\/dist\/bfd\//,
  // The kernel's WireGuard (generic netlink) with wireguard-go tunnels; the control client in the server.
  /\/dist\/wg\/(kernel|genl)\.js$/,
  /\/dist\/api\/client\.js$/,
  /\/dist\/ospf-bridge\//,
  /\/dist\/cli\/(commands|format)\.js$/,
  /\/node_modules\/prom-client\//,
  /\/node_modules\/cli-table3\//,
  // `wgbgp agent --config FILE` starts the agent without the command-line program (src/cli/main.ts).
  /\/dist\/cli\/program\.js$/,
  /\/node_modules\/commander\//,
  // The configuration is read on a thread of its own (src/config/load-worker.ts).
  /\/node_modules\/(yaml|zod)\//,
  // Not a dependency any more: watch events and the SIGHUP queue are plain listeners and promises.
  /\/node_modules\/rxjs\//,
  /\/dist\/config\/(load|schema|policy-schema|crosscheck)\.js$/,
];

const dir = mkdtempSync(join(tmpdir(), 'wgbgp-idle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the agent loads what its configuration uses', () => {
  it('Linux dataplane, no BFD/OSPF/metrics: no VPP, BFD, OSPF, prom-client or CLI command modules; a reload turning BFD on loads it and runs the session', async () => {
    const ns = TestNetns.create();
    const trace = join(dir, 'modules.txt');
    const sock = join(dir, 'control.sock');
    const configFile = join(dir, 'wgbgp.yaml');
    writeFileSync(join(dir, 'private.key'), `${generatePrivateKey()}\n`, { mode: 0o600 });
    const config = {
      router: { asn: 65001, 'router-id': '192.0.2.1' },
      control: { socket: sock },
      dataplane: { wireguard: 'wireguard-go', fib: 'linux', 'keep-on-stop': false },
      wireguard: { 'private-key-file': 'private.key' },
      announce: ['10.1.0.0/24'],
      neighbors: [] as Record<string, unknown>[],
    };
    writeFileSync(configFile, stringify(config));
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', TRACE_HOOK, CLI, 'agent', '--config', configFile], {
      env: { ...process.env, MODULE_TRACE: trace },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const loaded = (): string[] => (existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').filter((l) => l !== '') : []);
    try {
      await until('the agent answering on its control socket', () => cli<{ neighbors: { total: number } }>('status', '--socket', sock), 20_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${stderr}`);
      });
      const atStart = loaded();
      // The hook saw the agent itself: an empty trace proves nothing.
      expect(atStart.some((u) => u.endsWith('/dist/agent/agent.js'))).toBe(true);
      expect(atStart.some((u) => u.endsWith('/dist/fib/linux.js'))).toBe(true);
      expect(atStart.filter((u) => UNUSED.some((re) => re.test(u)))).toEqual([]);

      // RFC 5881: BFD over the tunnel's addresses, turned on by a reload.
      config.neighbors.push({
        name: 'b',
        interface: `wgi${ns.name.slice(-6)}`,
        'public-key': publicKeyOf(generatePrivateKey()),
        endpoint: '198.51.100.2:51820',
        'listen-port': 51821,
        tunnel: { local: ['10.255.9.0/31'], remote: ['10.255.9.1'] },
        bgp: { asn: 65002 },
        bfd: true,
      });
      writeFileSync(configFile, stringify(config));
      await reload(sock);
      const b = await until(
        "neighbor b's BFD session running",
        () => cli<NeighborJson[]>('neighbors', '--socket', sock).find((n) => n.name === 'b' && typeof n.bfd?.localDiscriminator === 'number'),
        20_000,
      );
      // No peer answers: the session waits Down (RFC 5880 §6.8.1), with our discriminator chosen.
      expect(b.bfd).toMatchObject({ state: 'Down' });
      expect(loaded().some((u) => u.endsWith('/dist/bfd/service.js'))).toBe(true);

      // A reload of an invalid file is rejected with the issue where it is, and changes nothing.
      writeFileSync(configFile, stringify({ ...config, router: { asn: 'x', 'router-id': '192.0.2.1' } }));
      await expect(reload(sock)).rejects.toThrow(/wgbgp\.yaml:\d+:\d+: router\.asn: /);
      expect(cli<NeighborJson[]>('neighbors', '--socket', sock).map((n) => n.name)).toEqual(['b']);

      child.kill('SIGTERM');
      await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      expect(child.exitCode, stderr).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // A failed run may leave the tunnel's wireguard-go behind: whatever still runs in the namespace goes.
      for (const pid of execFileSync('ip', ['netns', 'pids', ns.name], { encoding: 'utf8' }).split('\n').filter((p) => p !== '')) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      ns.destroy();
    }
  }, 60_000);
});
