import { readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Reader, type Path } from './check.js';
import { LabError } from './errors.js';

/**
 * The subset of containerlab's topology definition file
 * (https://containerlab.dev/manual/topo-def-file/) that the namespace runner can
 * honour. Everything else is rejected by name, so a topology never silently
 * means something different here than under containerlab.
 */
export interface LabBind {
  /** Absolute host path (relative binds resolve against the topology file's folder). */
  host: string;
  /** Absolute path inside the container, no trailing slash. */
  container: string;
  readOnly: boolean;
}

export interface LabNode {
  name: string;
  kind: 'linux';
  image: string | null;
  binds: LabBind[];
  env: Record<string, string>;
  /** Only net.* keys: the per-namespace ones. */
  sysctls: Record<string, string>;
  /** Run in order once every link exists (containerlab's `exec`). */
  exec: string[];
  /** The node's long-running process, or null: a node that only holds interfaces. */
  cmd: string | null;
}

export interface LabEndpoint {
  node: string;
  interface: string;
}

export interface LabLink {
  endpoints: [LabEndpoint, LabEndpoint];
  mtu: number | null;
}

export interface LabTopology {
  name: string;
  /** Absolute path of the topology file. */
  file: string;
  /** The lab folder: the topology file's folder. */
  dir: string;
  nodes: LabNode[];
  links: LabLink[];
}

export const TOPOLOGY_FILE = 'topology.clab.yml';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Linux IFNAMSIZ is 16 including the NUL. */
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

const TOP_KEYS = ['name', 'prefix', 'mgmt', 'topology'];
const TOPOLOGY_KEYS = ['nodes', 'links', 'defaults', 'kinds'];
/** Node settings the runner applies. */
const SETTING_KEYS = ['image', 'binds', 'env', 'sysctls', 'exec', 'cmd'];
/**
 * Container-only settings: meaningful to containerlab, nothing to do in a
 * namespace. Accepted so one file serves both, and ignored.
 */
const IGNORED_KEYS = [
  'type', 'group', 'labels', 'image-pull-policy', 'restart-policy', 'startup-delay', 'ports',
  'mgmt-ipv4', 'mgmt-ipv6', 'mgmt_ipv6', 'user', 'memory', 'cpu', 'cpu-set', 'dns',
  'healthcheck', 'publish', 'certificate', 'auto-remove', 'network-mode',
];
const NODE_KEYS = ['kind', ...SETTING_KEYS, ...IGNORED_KEYS];
const SPECIAL_ENDPOINT_NODES = ['host', 'mgmt-net', 'macvlan'];

/** The namespace of a node: `wgbgp-<lab>-<node>`. */
export function nodeNetns(lab: string, node: string): string {
  return `${labNetnsPrefix(lab)}${node}`;
}

/** Every namespace of a lab starts with this. */
export function labNetnsPrefix(lab: string): string {
  return `wgbgp-${lab}-`;
}

/**
 * The topology file of a lab: LABDIR/topology.clab.yml, else the only *.clab.yml
 * (or *.clab.yaml) in LABDIR; a path to a file is taken as it is.
 */
export function findTopologyFile(dirOrFile: string): string {
  const p = resolve(dirOrFile);
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new LabError(`${dirOrFile}: no such lab folder or topology file`);
  }
  if (st.isFile()) return p;
  const preferred = join(p, TOPOLOGY_FILE);
  try {
    if (statSync(preferred).isFile()) return preferred;
  } catch {
    // fall through to the *.clab.yml search
  }
  const candidates = readdirSync(p).filter((f) => /\.clab\.ya?ml$/.test(f));
  if (candidates.length === 1) return join(p, candidates[0]!);
  if (candidates.length === 0) throw new LabError(`${dirOrFile}: no ${TOPOLOGY_FILE} (or other *.clab.yml) in the lab folder`);
  throw new LabError(`${dirOrFile}: several topology files (${candidates.join(', ')}); name one, or call one ${TOPOLOGY_FILE}`);
}

export function loadTopology(dirOrFile: string): LabTopology {
  const file = findTopologyFile(dirOrFile);
  return parseTopology(readFileSync(file, 'utf8'), file);
}

/** Parses and validates a topology; `file` names it in errors and anchors relative binds. */
export function parseTopology(text: string, file: string): LabTopology {
  const absFile = resolve(file);
  const dir = dirname(absFile);
  const r: Reader = new Reader(basename(absFile));
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new LabError(`${r.file}: not valid YAML: ${(e as Error).message}`);
  }
  const top = r.strictMap(doc, [], TOP_KEYS);
  const name = r.string(top.name, ['name']);
  if (!NAME_RE.test(name)) r.fail(['name'], 'letters, digits, "_", "." and "-" only (it names the namespaces)');
  const topo = r.strictMap(top.topology, ['topology'], TOPOLOGY_KEYS);

  const defaults = topo.defaults === undefined ? {} : r.strictMap(topo.defaults, ['topology', 'defaults'], NODE_KEYS);
  let kindLinux: Record<string, unknown> = {};
  if (topo.kinds !== undefined) {
    const kinds = r.map(topo.kinds, ['topology', 'kinds']);
    for (const [k, v] of Object.entries(kinds)) {
      if (k !== 'linux') r.fail(['topology', 'kinds', k], 'only kind linux is supported by the namespace runner');
      kindLinux = r.strictMap(v, ['topology', 'kinds', k], [...SETTING_KEYS, ...IGNORED_KEYS]);
    }
  }

  const nodesMap = r.map(topo.nodes, ['topology', 'nodes']);
  const nodes: LabNode[] = [];
  for (const [nodeName, raw] of Object.entries(nodesMap)) {
    const path = ['topology', 'nodes', nodeName];
    if (!NAME_RE.test(nodeName)) r.fail(path, 'node names: letters, digits, "_", "." and "-" only');
    if (SPECIAL_ENDPOINT_NODES.includes(nodeName)) r.fail(path, `"${nodeName}" is reserved by containerlab`);
    const node = raw === null || raw === undefined ? {} : r.strictMap(raw, path, NODE_KEYS);
    nodes.push(parseNode(r, nodeName, path, [defaults, kindLinux, node], dir));
  }
  if (nodes.length === 0) r.fail(['topology', 'nodes'], 'a lab needs at least one node');

  const links: LabLink[] = [];
  if (topo.links !== undefined && topo.links !== null) {
    r.list(topo.links, ['topology', 'links']).forEach((l, i) => links.push(parseLink(r, l, ['topology', 'links', i])));
  }
  const known = new Set(nodes.map((n) => n.name));
  const used = new Set<string>();
  links.forEach((l, i) => {
    for (const ep of l.endpoints) {
      const path = ['topology', 'links', i, 'endpoints'];
      if (SPECIAL_ENDPOINT_NODES.includes(ep.node)) r.fail(path, `"${ep.node}" endpoints are not supported by the namespace runner`);
      if (!known.has(ep.node)) r.fail(path, `node "${ep.node}" is not defined under topology.nodes`);
      const key = `${ep.node}:${ep.interface}`;
      if (used.has(key)) r.fail(path, `${key} is used by more than one link`);
      used.add(key);
    }
  });
  return { name, file: absFile, dir, nodes, links };
}

/** `levels`: defaults, kinds.linux, the node: the most specific wins, maps merge. */
function parseNode(r: Reader, name: string, path: Path, levels: Record<string, unknown>[], dir: string): LabNode {
  const levelPath = (i: number, key: string): Path =>
    i === 0 ? ['topology', 'defaults', key] : i === 1 ? ['topology', 'kinds', 'linux', key] : [...path, key];
  const pick = (key: string): { value: unknown; path: Path } | undefined => {
    for (let i = levels.length - 1; i >= 0; i--) {
      const v = levels[i]![key];
      if (v !== undefined && v !== null) return { value: v, path: levelPath(i, key) };
    }
    return undefined;
  };

  const kind = pick('kind');
  if (kind === undefined) r.fail([...path, 'kind'], 'missing (set it on the node or in topology.defaults)');
  if (kind.value !== 'linux') r.fail(kind.path, `kind "${String(kind.value)}" is not supported by the namespace runner (linux only)`);

  const nm = pick('network-mode');
  if (nm !== undefined && nm.value !== 'none') r.fail(nm.path, 'only network-mode "none" is supported (a namespace has no management network)');

  const image = pick('image');
  const cmd = pick('cmd');
  const exec = pick('exec');

  const env: Record<string, string> = {};
  const sysctls: Record<string, string> = {};
  const binds = new Map<string, LabBind>();
  levels.forEach((lvl, i) => {
    if (lvl.env !== undefined && lvl.env !== null) Object.assign(env, r.stringMap(lvl.env, levelPath(i, 'env')));
    if (lvl.sysctls !== undefined && lvl.sysctls !== null) {
      const s = r.stringMap(lvl.sysctls, levelPath(i, 'sysctls'));
      for (const k of Object.keys(s)) {
        if (!/^net\.[A-Za-z0-9_.-]+$/.test(k)) r.fail([...levelPath(i, 'sysctls'), k], 'only net.* sysctls are per namespace');
      }
      Object.assign(sysctls, s);
    }
    if (lvl.binds !== undefined && lvl.binds !== null) {
      r.stringList(lvl.binds, levelPath(i, 'binds')).forEach((b, j) => {
        const bind = parseBind(r, b, [...levelPath(i, 'binds'), j], dir);
        if (bind !== null) binds.set(bind.container, bind);
      });
    }
  });

  return {
    name,
    kind: 'linux',
    image: image === undefined ? null : r.string(image.value, image.path),
    binds: [...binds.values()],
    env,
    sysctls,
    exec: exec === undefined ? [] : r.stringList(exec.value, exec.path),
    cmd: cmd === undefined ? null : r.string(cmd.value, cmd.path),
  };
}

/** docker's -v syntax: host:container[:options]; a lone path is an anonymous volume (returns null). */
function parseBind(r: Reader, spec: string, path: Path, dir: string): LabBind | null {
  if (spec.includes('__clab')) r.fail(path, 'containerlab bind variables (__clabNodeDir__, __clabDir__) are not supported');
  const parts = spec.split(':');
  if (parts.length === 1) return null;
  if (parts.length > 3) r.fail(path, 'expected host-path:container-path[:options]');
  const [hostRaw, containerRaw, opts] = parts as [string, string, string | undefined];
  if (hostRaw === '' || !containerRaw.startsWith('/')) r.fail(path, 'expected host-path:/absolute/container-path[:options]');
  let host = hostRaw;
  if (host === '~' || host.startsWith('~/')) host = join(homedir(), host.slice(1));
  if (!isAbsolute(host)) host = resolve(dir, host);
  const container = containerRaw.length > 1 ? containerRaw.replace(/\/+$/, '') : containerRaw;
  return { host: resolve(host), container, readOnly: (opts ?? '').split(',').includes('ro') };
}

function parseLink(r: Reader, raw: unknown, path: Path): LabLink {
  const m = r.strictMap(raw, path, ['type', 'endpoints', 'mtu', 'labels', 'vars']);
  if (m.type !== undefined && m.type !== 'veth') r.fail([...path, 'type'], 'only veth links are supported by the namespace runner');
  const eps = r.list(m.endpoints, [...path, 'endpoints']);
  if (eps.length !== 2) r.fail([...path, 'endpoints'], `a link has exactly two endpoints (got ${eps.length})`);
  const endpoints = eps.map((e, i) => parseEndpoint(r, e, [...path, 'endpoints', i], m.type !== undefined)) as [LabEndpoint, LabEndpoint];
  const mtu = m.mtu === undefined ? null : r.positiveNumber(m.mtu, [...path, 'mtu']);
  if (mtu !== null && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) r.fail([...path, 'mtu'], 'expected an integer 68..65535');
  return { endpoints, mtu };
}

/** "node:ifname" in the brief format, {node, interface} in the extended one (`type: veth`). */
function parseEndpoint(r: Reader, raw: unknown, path: Path, extended: boolean): LabEndpoint {
  let node: string;
  let ifname: string;
  if (extended) {
    const m = r.strictMap(raw, path, ['node', 'interface', 'mac', 'vars', 'labels']);
    node = r.string(m.node, [...path, 'node']);
    ifname = r.string(m.interface, [...path, 'interface']);
  } else {
    const s = r.string(raw, path);
    const colon = s.indexOf(':');
    if (colon <= 0 || colon === s.length - 1) r.fail(path, `expected "node:interface", got "${s}"`);
    node = s.slice(0, colon);
    ifname = s.slice(colon + 1);
  }
  if (!IFNAME_RE.test(ifname) || ifname === 'lo') {
    r.fail(path, `interface "${ifname}": 1-15 characters of letters, digits, "_", "." and "-", not lo`);
  }
  return { node, interface: ifname };
}

/** The host path a container path refers to through the node's binds (the most specific bind wins). */
export function hostPathOf(node: LabNode, containerPath: string): string | null {
  let best: LabBind | null = null;
  for (const b of node.binds) {
    const under = containerPath === b.container || containerPath.startsWith(b.container === '/' ? '/' : `${b.container}/`);
    if (under && (best === null || b.container.length > best.container.length)) best = b;
  }
  if (best === null) return null;
  return best.host + containerPath.slice(best.container === '/' ? 0 : best.container.length);
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * A command line with every bind's container path replaced by its host path:
 * there is no mount namespace, so `/etc/wgbgp/x` must become `<lab>/site-a/x`.
 */
export function mapCommandPaths(node: LabNode, command: string): string {
  const binds = [...node.binds].filter((b) => b.container !== '/').sort((a, b) => b.container.length - a.container.length);
  if (binds.length === 0) return command;
  const alternatives = binds.map((b) => b.container.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const re = new RegExp(`(?<![\\w./-])(${alternatives})(?=$|[/\\s'";:)|&<>])`, 'g');
  return command.replace(re, (match) => {
    const host = hostPathOf(node, match)!;
    if (!SHELL_SAFE.test(host)) {
      throw new LabError(`node ${node.name}: host path "${host}" (bind of ${match}) has characters a command line cannot carry unquoted`);
    }
    return host;
  });
}

/** Splits a command line into words like sh does for plain quoting ('…', "…", \x); no expansions. */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) cur += command[++i]!;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new LabError(`unbalanced ${quote} in command: ${command}`);
  if (inWord) words.push(cur);
  return words;
}
