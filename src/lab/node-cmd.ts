import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { isMap, parseDocument, visit } from 'yaml';
import { LabError } from './errors.js';
import { frrOfNode } from './frr.js';
import { RUN_DIR } from './state.js';
import { hostPathOf, mapCommandPaths, splitWords, type LabNode, type LabTopology } from './topology.js';

/**
 * What a node's `cmd` becomes in a namespace. A container has its own mount
 * namespace and /run; a network namespace has neither, so:
 * - `wgbgp agent --config X` runs the wgbgp CLI of this checkout with a copy of X
 *   written to .lab-run/<node>.yaml in which container paths under the node's
 *   binds are host paths, and the control socket is unique to the node;
 * - any other `cmd` runs through `sh -c` with bind paths mapped the same way.
 */
export const DEFAULT_AGENT_CONFIG = '/etc/wgbgp/wgbgp.yaml';
/** The contract's default socket: on a host it belongs to the host's own agent. */
export const DEFAULT_CONTROL_SOCKET = '/run/wgbgp/control.sock';

export interface NodeProcess {
  node: string;
  kind: 'agent' | 'process';
  /** argv to run inside the node's namespace. */
  argv: string[];
  /** Agents: the config the agent is started with (the rewritten copy) and its source. */
  config: { source: string; path: string; text: string; key: { source: string; path: string } | null } | null;
  /** Agents: the control socket (from the rewritten config). */
  socket: string | null;
  /** Agents: neighbors[].interface, whose wireguard-go processes and sockets are the lab's. */
  interfaces: string[];
}

/** The per-node socket used when a config names none, or the host's default, or another node's. */
export function labSocketPath(lab: string, node: string): string {
  return `/run/wgbgp/${lab}-${node}.sock`;
}

export function runDirOf(topo: LabTopology): string {
  return join(topo.dir, RUN_DIR);
}

/**
 * The processes of every node with a `cmd`, in topology order. `cli` is the argv
 * prefix that runs the wgbgp CLI (node + dist/cli/main.js). Pure apart from
 * reading the agent configs.
 */
export function planNodeProcesses(topo: LabTopology, cli: readonly string[]): NodeProcess[] {
  const out: NodeProcess[] = [];
  const sockets = new Set<string>();
  for (const node of topo.nodes) {
    if (node.cmd === null) continue;
    const words = splitWords(node.cmd);
    const prog = words[0];
    if (prog !== undefined && basename(prog) === 'wgbgp' && words[1] === 'agent') {
      const p = planAgent(topo, node, words.slice(2), cli, sockets);
      out.push(p);
    } else if (prog !== undefined && basename(prog) === 'wgbgp') {
      out.push({ node: node.name, kind: 'process', argv: [...cli, ...words.slice(1).map((w) => mapWord(node, w))], config: null, socket: null, interfaces: [] });
    } else {
      out.push({ node: node.name, kind: 'process', argv: ['sh', '-c', `exec ${mapCommandPaths(node, node.cmd)}`], config: null, socket: null, interfaces: [] });
    }
  }
  return out;
}

function mapWord(node: LabNode, w: string): string {
  if (!w.startsWith('/')) return w;
  return hostPathOf(node, w) ?? w;
}

function planAgent(topo: LabTopology, node: LabNode, args: string[], cli: readonly string[], sockets: Set<string>): NodeProcess {
  let configArg = DEFAULT_AGENT_CONFIG;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--config' || a === '-c') {
      const v = args[++i];
      if (v === undefined) throw new LabError(`node ${node.name}: cmd: ${a} needs a file`);
      configArg = v;
    } else if (a.startsWith('--config=')) {
      configArg = a.slice('--config='.length);
    } else {
      rest.push(mapWord(node, a));
    }
  }
  const source = resolveNodeFile(topo, node, configArg);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (e) {
    throw new LabError(`node ${node.name}: agent config ${configArg} (${source}): ${(e as Error).message}`);
  }
  const keyCopy = join(runDirOf(topo), `${node.name}.key`);
  const rewritten = rewriteAgentConfig(text, source, node, topo.name, sockets, keyCopy);
  sockets.add(rewritten.socket);
  const path = join(runDirOf(topo), `${node.name}.yaml`);
  return {
    node: node.name,
    kind: 'agent',
    argv: [...cli, 'agent', '--config', path, ...rest],
    config: { source, path, text: rewritten.text, key: rewritten.key },
    socket: rewritten.socket,
    interfaces: rewritten.interfaces,
  };
}

/** A path as the node's container would see it, as a host path. */
function resolveNodeFile(topo: LabTopology, node: LabNode, p: string): string {
  if (!isAbsolute(p)) return resolve(topo.dir, p);
  const host = hostPathOf(node, p);
  if (host === null) {
    // Never fall back to the host's own /etc/wgbgp: that is the router's real config.
    throw new LabError(`node ${node.name}: ${p} is not under any of the node's binds (${node.binds.map((b) => `${b.host}:${b.container}`).join(', ') || 'none'})`);
  }
  return host;
}

/**
 * The agent config as the namespace runner starts it: every string value under a
 * bind's container path becomes the host path, a relative private-key-file is
 * made absolute (the copy lives elsewhere), control.socket is unique per
 * node, and with `ospf:` the bridge reaches the node's own FRR
 * (`ospf.frr.pathspace`, see frr.ts). Comments and layout are kept.
 *
 * With `keyCopy`, the private key is read from a copy the runner writes with
 * mode 0600: git keeps the lab's key files 0644, and the agent refuses a key
 * others can read.
 */
export function rewriteAgentConfig(
  text: string,
  source: string,
  node: LabNode,
  lab: string,
  taken: ReadonlySet<string> = new Set(),
  keyCopy?: string,
): { text: string; socket: string; interfaces: string[]; key: { source: string; path: string } | null } {
  const doc = parseDocument(text);
  const err = doc.errors[0];
  if (err !== undefined) throw new LabError(`${source}: not valid YAML: ${err.message}`);

  visit(doc, {
    Scalar(key, scalar) {
      if (key === 'key' || typeof scalar.value !== 'string' || !scalar.value.startsWith('/')) return;
      const host = hostPathOf(node, scalar.value);
      if (host !== null) scalar.value = host;
    },
  });

  const keyFile = doc.getIn(['wireguard', 'private-key-file']);
  let key: { source: string; path: string } | null = null;
  if (typeof keyFile === 'string' && keyFile !== '') {
    const absolute = isAbsolute(keyFile) ? keyFile : resolve(dirname(source), keyFile);
    if (keyCopy !== undefined && existsSync(absolute)) {
      key = { source: absolute, path: keyCopy };
      doc.setIn(['wireguard', 'private-key-file'], keyCopy);
    } else if (!isAbsolute(keyFile)) {
      doc.setIn(['wireguard', 'private-key-file'], absolute);
    }
  }

  const configured = doc.getIn(['control', 'socket']);
  let socket = typeof configured === 'string' && configured !== '' ? configured : DEFAULT_CONTROL_SOCKET;
  if (socket === DEFAULT_CONTROL_SOCKET || taken.has(socket)) {
    socket = labSocketPath(lab, node.name);
    doc.setIn(['control', 'socket'], socket);
  }

  const ospf = doc.get('ospf', true);
  if (isMap(ospf)) {
    const frr = frrOfNode(lab, node);
    const configured = doc.getIn(['ospf', 'frr', 'pathspace']);
    if (frr !== null) {
      if (!frr.zebraModules.some((m) => m === 'dplane_fpm_nl' || m.startsWith('dplane_fpm_nl:'))) {
        throw new LabError(`node ${node.name}: the agent config has ospf:, so zebra must load the FPM module: add -M dplane_fpm_nl to its exec command`);
      }
      // Each namespace is its own 127.0.0.1, so ospf.frr.fpm-listen stays as written.
      doc.setIn(['ospf', 'frr', 'pathspace'], frr.pathspace);
    } else if (typeof configured !== 'string' || configured === '') {
      // vtysh without -N would configure the host's own FRR.
      throw new LabError(
        `node ${node.name}: the agent config has ospf:, but the node starts no FRR (/usr/lib/frr/zebra -d … in its exec) and names no ospf.frr.pathspace; the agent would configure the host's FRR`,
      );
    }
  }

  const interfaces: string[] = [];
  const neighbors = (doc.toJS() as { neighbors?: unknown } | null)?.neighbors;
  if (Array.isArray(neighbors)) {
    for (const n of neighbors as unknown[]) {
      const ifname = n !== null && typeof n === 'object' ? (n as { interface?: unknown }).interface : undefined;
      if (typeof ifname === 'string') interfaces.push(ifname);
    }
  }

  const header = `# Generated by \`wgbgp lab up\` from ${source}\n# (container paths mapped to the lab folder, control socket per node, the node's FRR pathspace). Edit the original.\n`;
  return { text: header + doc.toString(), socket, interfaces, key };
}
