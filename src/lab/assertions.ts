import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { formatIp, formatPrefix, parseIp, parsePrefix } from '#lib/prefix';
import { Reader, type Path } from './check.js';
import { defaultCli, lastLine, parseCliJson, runCli } from './control.js';
import { LabError } from './errors.js';
import { frrPathspace, nodeRunsFrr, reachesHostFrr, withVtyshPathspace } from './frr.js';
import { execInNetns, listNetns, run } from './netns.js';
import { planNodeProcesses, runDirOf } from './node-cmd.js';
import { printer, type LabOptions } from './runner.js';
import { readState } from './state.js';
import { loadTopology, mapCommandPaths, nodeNetns, type LabTopology } from './topology.js';

/**
 * lab-test.yaml: what must hold in a running lab, per node (format in
 * labs/README.md). Every assertion is polled until it holds or the lab's
 * deadline (`timeout` seconds from the start of `lab test`) passes.
 */
export const LAB_TEST_FILE = 'lab-test.yaml';
const DEFAULT_TIMEOUT_S = 60;
const POLL_MS = 1_000;

export type Assertion =
  | { node: string; type: 'neighbor'; name: string; state: string }
  | { node: string; type: 'route'; prefix: string; dev: string | null; via: string | null; table: string | null; protocol?: string }
  | { node: string; type: 'ospf'; neighbor: string; family: 'ipv4' | 'ipv6' | null; state: string }
  | { node: string; type: 'ping'; from: string | null; to: string }
  | { node: string; type: 'command'; run: string; expect: string | null };

export interface LabTestSpec {
  /** Seconds. */
  timeout: number;
  assertions: Assertion[];
}

const NODE_KEYS = ['neighbors', 'ospf', 'routes', 'pings', 'commands'];
const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
/** RFC 2328 §10.1 neighbor states, as FRR spells them. */
const OSPF_STATES = ['Down', 'Attempt', 'Init', '2-Way', 'ExStart', 'Exchange', 'Loading', 'Full'];

export function parseLabTest(text: string, file: string): LabTestSpec {
  const r: Reader = new Reader(basename(file));
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new LabError(`${r.file}: not valid YAML: ${(e as Error).message}`);
  }
  const top = r.strictMap(doc, [], ['timeout', 'nodes']);
  const timeout = top.timeout === undefined ? DEFAULT_TIMEOUT_S : r.positiveNumber(top.timeout, ['timeout']);
  const assertions: Assertion[] = [];
  const nodes = r.map(top.nodes, ['nodes']);
  for (const [node, raw] of Object.entries(nodes)) {
    const m = r.strictMap(raw, ['nodes', node], NODE_KEYS);
    const items = (key: string): { v: Record<string, unknown>; path: Path }[] =>
      m[key] === undefined ? [] : r.list(m[key], ['nodes', node, key]).map((v, i) => ({ v: r.map(v, ['nodes', node, key, i]), path: ['nodes', node, key, i] }));

    for (const { v, path } of items('neighbors')) {
      r.strictMap(v, path, ['name', 'state']);
      const state = v.state === undefined ? 'Established' : r.string(v.state, [...path, 'state']);
      if (!BGP_STATES.includes(state)) r.fail([...path, 'state'], `one of ${BGP_STATES.join(', ')}`);
      assertions.push({ node, type: 'neighbor', name: r.string(v.name, [...path, 'name']), state });
    }
    for (const { v, path } of items('ospf')) {
      r.strictMap(v, path, ['neighbor', 'family', 'state']);
      const state = v.state === undefined ? 'Full' : r.string(v.state, [...path, 'state']);
      if (!OSPF_STATES.includes(state)) r.fail([...path, 'state'], `one of ${OSPF_STATES.join(', ')}`);
      const family = r.optString(v.family, [...path, 'family']) ?? null;
      if (family !== null && family !== 'ipv4' && family !== 'ipv6') r.fail([...path, 'family'], 'ipv4 or ipv6 (absent: both)');
      assertions.push({ node, type: 'ospf', neighbor: r.string(v.neighbor, [...path, 'neighbor']), family, state });
    }
    for (const { v, path } of items('routes')) {
      r.strictMap(v, path, ['prefix', 'dev', 'via', 'table', 'protocol']);
      const parsed = parsePrefix(r.string(v.prefix, [...path, 'prefix']));
      if (parsed === null) r.fail([...path, 'prefix'], 'expected a prefix without host bits, such as 10.2.0.0/24');
      const prefix = formatPrefix(parsed);
      const via = r.optString(v.via, [...path, 'via']);
      if (via !== undefined && parseIp(via) === null) r.fail([...path, 'via'], 'expected an IP address');
      const table = v.table === undefined ? null : r.scalarText(v.table, [...path, 'table']);
      // Present only when asked for: a route assertion without it reads as before.
      const protocol = v.protocol === undefined ? {} : { protocol: r.scalarText(v.protocol, [...path, 'protocol']) };
      assertions.push({ node, type: 'route', prefix, dev: r.optString(v.dev, [...path, 'dev']) ?? null, via: via ?? null, table, ...protocol });
    }
    for (const { v, path } of items('pings')) {
      r.strictMap(v, path, ['from', 'to']);
      const to = r.string(v.to, [...path, 'to']);
      const from = r.optString(v.from, [...path, 'from']) ?? null;
      if (parseIp(to) === null) r.fail([...path, 'to'], 'expected an IP address');
      if (from !== null && parseIp(from)?.family !== parseIp(to)?.family) r.fail([...path, 'from'], 'expected an address of the same family as "to"');
      assertions.push({ node, type: 'ping', from, to });
    }
    for (const { v, path } of items('commands')) {
      r.strictMap(v, path, ['run', 'expect']);
      assertions.push({ node, type: 'command', run: r.string(v.run, [...path, 'run']), expect: r.optString(v.expect, [...path, 'expect']) ?? null });
    }
  }
  return { timeout, assertions };
}

export function describeAssertion(a: Assertion): string {
  switch (a.type) {
    case 'neighbor':
      return `${a.node}: neighbor ${a.name} ${a.state}`;
    case 'ospf':
      return `${a.node}: OSPF${a.family === null ? '' : a.family === 'ipv4' ? 'v2' : 'v3'} neighbor ${a.neighbor} ${a.state}`;
    case 'route':
      return `${a.node}: route ${a.prefix}${a.dev === null ? '' : ` dev ${a.dev}`}${a.via === null ? '' : ` via ${a.via}`}${a.table === null ? '' : ` table ${a.table}`}${a.protocol === undefined ? '' : ` proto ${a.protocol}`}`;
    case 'ping':
      return `${a.node}: ping ${a.from === null ? '' : `${a.from} -> `}${a.to}`;
    case 'command':
      return `${a.node}: \`${a.run}\`${a.expect === null ? '' : ` prints "${a.expect}"`}`;
  }
}

interface CheckContext {
  topo: LabTopology;
  cli: readonly string[];
  sockets: Record<string, string | null>;
}

type CheckResult = { ok: boolean; detail: string };

/** One attempt at an assertion. */
export async function checkOnce(a: Assertion, ctx: CheckContext): Promise<CheckResult> {
  const ns = nodeNetns(ctx.topo.name, a.node);
  switch (a.type) {
    case 'neighbor': {
      const socket = ctx.sockets[a.node];
      if (socket === undefined || socket === null) return { ok: false, detail: `node ${a.node} runs no wgbgp agent` };
      const out = parseCliJson(await runCli(ctx.cli, ['neighbors', '--json', '--socket', socket]));
      if ('error' in out) return { ok: false, detail: `wgbgp neighbors: ${out.error}` };
      if (!Array.isArray(out.value)) return { ok: false, detail: 'wgbgp neighbors --json did not print an array' };
      const n = (out.value as { name?: unknown; state?: unknown; lastError?: unknown; prefixesReceived?: unknown }[]).find((x) => x.name === a.name);
      if (n === undefined) return { ok: false, detail: `no neighbor named ${a.name}` };
      const err = typeof n.lastError === 'string' ? `, last error: ${n.lastError}` : '';
      const pfx = typeof n.prefixesReceived === 'number' ? `, ${n.prefixesReceived} prefixes received` : '';
      return { ok: n.state === a.state, detail: `state ${String(n.state)}${pfx}${err}` };
    }
    case 'ospf': {
      const socket = ctx.sockets[a.node];
      if (socket === undefined || socket === null) return { ok: false, detail: `node ${a.node} runs no wgbgp agent` };
      const out = parseCliJson(await runCli(ctx.cli, ['ospf', 'neighbors', '--json', '--socket', socket]));
      if ('error' in out) return { ok: false, detail: `wgbgp ospf neighbors: ${out.error}` };
      if (!Array.isArray(out.value)) return { ok: false, detail: 'wgbgp ospf neighbors --json did not print an array' };
      const mine = (out.value as { neighbor?: unknown; family?: unknown; state?: unknown; routerId?: unknown }[]).filter((n) => n.neighbor === a.neighbor);
      const families = a.family === null ? ['ipv4', 'ipv6'] : [a.family];
      const seen = families.map((f) => {
        const n = mine.find((x) => x.family === f);
        return { ok: n?.state === a.state, text: `${f === 'ipv4' ? 'v2' : 'v3'} ${n === undefined ? 'no adjacency' : `${String(n.state)} with ${String(n.routerId)}`}` };
      });
      return { ok: seen.every((x) => x.ok), detail: seen.map((x) => x.text).join(', ') };
    }
    case 'route': {
      const v6 = a.prefix.includes(':');
      const argv = [
        'ip', '-n', ns, '-j', ...(v6 ? ['-6'] : []), 'route', 'show',
        ...(a.table === null ? [] : ['table', a.table]), ...(a.protocol === undefined ? [] : ['proto', a.protocol]), a.prefix,
      ];
      const r = await run(argv);
      if (r.code !== 0) return { ok: false, detail: lastLine(r.stderr) || `ip route: exit ${r.code}` };
      const routes = (r.stdout.trim() === '' ? [] : JSON.parse(r.stdout)) as IpRoute[];
      if (routes.length === 0) return { ok: false, detail: 'no such route' };
      const shown = routes.map(formatRoute).join('; ');
      const ok = routes.some((rt) => hops(rt).some((h) => (a.dev === null || h.dev === a.dev) && (a.via === null || sameIp(h.gateway, a.via))));
      return { ok, detail: shown };
    }
    case 'ping': {
      const v6 = a.to.includes(':');
      const argv = ['ping', ...(v6 ? ['-6'] : []), '-c1', '-W1', ...(a.from === null ? [] : ['-I', a.from]), a.to];
      const r = await execInNetns(ns, argv, { timeoutMs: 5_000 });
      const rtt = /time=([\d.]+ ms)/.exec(r.stdout)?.[1];
      return r.code === 0 ? { ok: true, detail: rtt ?? 'reply' } : { ok: false, detail: lastLine(r.stderr) || lastLine(r.stdout) || `exit ${r.code}` };
    }
    case 'command': {
      const node = ctx.topo.nodes.find((n) => n.name === a.node);
      let command = node === undefined ? a.run : mapCommandPaths(node, a.run);
      // The node's FRR answers in its own pathspace (frr.ts); a node without FRR has none to ask.
      if (node !== undefined && nodeRunsFrr(node)) command = withVtyshPathspace(command, frrPathspace(ctx.topo.name, node.name));
      else if (reachesHostFrr(command)) return { ok: false, detail: `node ${a.node} starts no FRR: vtysh would ask the host's` };
      const r = await execInNetns(ns, command, { env: node?.env ?? {}, timeoutMs: 10_000 });
      if (r.code !== 0) return { ok: false, detail: `exit ${r.code}: ${lastLine(r.stderr) || lastLine(r.stdout)}` };
      if (a.expect !== null && !r.stdout.includes(a.expect)) return { ok: false, detail: `output lacks "${a.expect}": ${lastLine(r.stdout)}` };
      return { ok: true, detail: lastLine(r.stdout) };
    }
  }
}

interface IpNexthop {
  gateway?: string;
  dev?: string;
}
interface IpRoute extends IpNexthop {
  dst?: string;
  protocol?: string | number;
  nexthops?: IpNexthop[];
}

function hops(rt: IpRoute): IpNexthop[] {
  return rt.nexthops !== undefined && rt.nexthops.length > 0 ? rt.nexthops : [rt];
}

function formatRoute(rt: IpRoute): string {
  const nh = hops(rt).map((h) => `${h.gateway === undefined ? '' : `via ${h.gateway} `}dev ${h.dev ?? '?'}`).join(', ');
  return `${rt.dst ?? '?'} ${nh}${rt.protocol === undefined ? '' : ` proto ${rt.protocol}`}`;
}

function sameIp(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const pa = parseIp(a);
  const pb = parseIp(b);
  return pa !== null && pb !== null && formatIp(pa.bytes) === formatIp(pb.bytes);
}

/**
 * Runs LABDIR/lab-test.yaml against the running lab, one line per assertion
 * ("PASS …" / "FAIL …" with what was seen). True when all hold.
 */
export async function labTest(dir: string, opts: LabOptions = {}): Promise<boolean> {
  const print = printer(opts);
  const topo = loadTopology(dir);
  const file = join(topo.dir, LAB_TEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new LabError(`lab ${topo.name}: no ${LAB_TEST_FILE} in ${topo.dir}`);
  }
  const spec = parseLabTest(text, file);
  for (const a of spec.assertions) {
    if (!topo.nodes.some((n) => n.name === a.node)) throw new LabError(`${LAB_TEST_FILE}: nodes.${a.node}: not a node of ${basename(topo.file)}`);
  }
  const state = readState(runDirOf(topo));
  const present = new Set(await listNetns());
  const missing = topo.nodes.map((n) => nodeNetns(topo.name, n.name)).filter((ns) => !present.has(ns));
  if (missing.length > 0) throw new LabError(`lab ${topo.name} is not up (no namespace ${missing.join(', ')}); run \`wgbgp lab up ${dir}\``);

  const cli = opts.cli ?? (state !== null && state.cli.length > 0 ? state.cli : defaultCli());
  const sockets: Record<string, string | null> = {};
  if (state !== null) {
    for (const [n, st] of Object.entries(state.nodes)) sockets[n] = st.socket;
  } else {
    for (const p of planNodeProcesses(topo, cli)) sockets[p.node] = p.socket;
  }
  const ctx: CheckContext = { topo, cli, sockets };

  const start = Date.now();
  const deadline = start + spec.timeout * 1000;
  let passed = 0;
  for (const a of spec.assertions) {
    let res: CheckResult;
    for (;;) {
      res = await checkOnce(a, ctx);
      if (res.ok || Date.now() >= deadline) break;
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
    if (res.ok) passed++;
    const at = `${((Date.now() - start) / 1000).toFixed(1)} s`;
    print(`${res.ok ? 'PASS' : 'FAIL'}  ${describeAssertion(a)}  (${res.detail}; ${at})`);
  }
  print(`lab ${topo.name}: ${passed}/${spec.assertions.length} assertions hold`);
  return passed === spec.assertions.length;
}
