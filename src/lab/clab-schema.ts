/**
 * containerlab's topology definition file as its documentation describes it
 * (containerlab.dev, docs of release 0.79: manual/topo-def-file, manual/nodes,
 * manual/network, manual/cert and one page per kind under manual/kinds), written
 * here as a zod schema. It answers, without a container engine, "would
 * `containerlab deploy` take this file?" for everything that does not need one.
 *
 * ./topology.ts reads the subset the namespace runner honours; this reads all of
 * containerlab's format. containerlab decodes the file strictly (an unknown key
 * anywhere is an error), so every object here is strict too. Where the docs and
 * the schema containerlab publishes differ, the docs win, except that a brief
 * link takes only the keys the published schema lists: a file that passes here
 * also passes an editor validating against that schema.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** `kind_code_name` of every page under manual/kinds (Ostinato runs as `linux`). */
export const CLAB_KINDS = [
  '6wind_vsr', 'arista_ceos', 'arista_veos', 'arrcus_arcos', 'aruba_aoscx', 'bridge',
  'checkpoint_cloudguard', 'ciena_saos', 'cisco_asav', 'cisco_c8000', 'cisco_c8000v', 'cisco_cat9kv',
  'cisco_csr1000v', 'cisco_ftdv', 'cisco_iol', 'cisco_n9kv', 'cisco_sdwan', 'cisco_vios', 'cisco_xrd',
  'cisco_xrd_vrouter', 'cisco_xrv', 'cisco_xrv9k', 'dell_ftosv', 'dell_sonic', 'ext-container',
  'f5_bigip-ve', 'fdio_vpp', 'fortinet_fortigate', 'freebsd', 'generic_vm', 'host', 'huawei_vrp',
  'ipinfusion_ocnos', 'juniper_cjunosevolved', 'juniper_crpd', 'juniper_csrx', 'juniper_vjunosevolved',
  'juniper_vjunosrouter', 'juniper_vjunosswitch', 'juniper_vmx', 'juniper_vqfx', 'juniper_vsrx',
  'k8s-kind', 'keysight_ixia-c-one', 'linux', 'mikrotik_ros', 'nokia_srlinux', 'nokia_sros', 'nokia_srsim',
  'nvidia_cumulusvx', 'openbsd', 'openwrt', 'ovs-bridge', 'paloalto_panos', 'plvision_sonic', 'rare',
  'sonic-vm', 'sonic-vs', 'spirent_stc', 'veesix_osvbng', 'vyosnetworks_vyos',
] as const;
export type ClabKind = (typeof CLAB_KINDS)[number];

/**
 * Brief-format endpoints whose "node" part names no node (manual/network: host
 * links, links to the management network, macvlan onto a host interface).
 */
export const CLAB_SPECIAL_ENDPOINTS = ['host', 'mgmt-net', 'macvlan'] as const;

/** Lab and node names: they become parts of container names (`clab-<lab>-<node>`). */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const unknownKind = (k: unknown): string => `unknown kind ${JSON.stringify(k)} (containerlab.dev/manual/kinds lists the kinds)`;
const kind = z.enum(CLAB_KINDS, { error: (iss) => unknownKind(iss.input) });
const uniqueStrings = z.array(z.string()).refine((a) => new Set(a).size === a.length, 'duplicate entries');
const nonNegativeInt = z.int().min(0);
const ipv4 = z.string().refine((s) => isIPv4(s), 'expected an IPv4 address');
const ipv6 = z.string().refine((s) => isIPv6(s), 'expected an IPv6 address');

function isPrefix(s: string, family: 4 | 6): boolean {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return false;
  const len = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > (family === 4 ? 32 : 128)) return false;
  return family === 4 ? isIPv4(s.slice(0, slash)) : isIPv6(s.slice(0, slash));
}
const ipv4Prefix = z.string().refine((s) => isPrefix(s, 4), 'expected an IPv4 address with prefix length (192.0.2.1/24)');
const ipv6Prefix = z.string().refine((s) => isPrefix(s, 6), 'expected an IPv6 address with prefix length (2001:db8::1/64)');
const mtu = z.int().min(1).max(65535);

/** env, sysctls, driver-opts: scalar values (YAML numbers and booleans are fine). */
const scalarMap = z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]));
const labels = z.record(z.string().min(1), z.union([z.string().min(1), z.number().min(0)]));
const vars = z.record(z.string(), z.unknown());

/** manual/nodes#binds: docker's -v syntax, host bind mounts only (named volumes go under `volumes`). */
const bind = z.string().regex(/^[^:]+:\/[^:]*(:[A-Za-z,]+)?$/, 'expected host-path:/container-path[:options]');
/** manual/nodes#ports: `docker run -p` syntax, [ip:]host-port:container-port[/protocol]. */
const port = z.string().regex(/^(?:[^/]+:)?\d{1,5}:\d{1,5}(?:\/(?:tcp|udp|sctp))?$/, 'expected [ip:]host-port:container-port[/tcp|udp|sctp]');
/** manual/nodes#memory: suffixes b, kib, kb, mib, mb, gib, gb, any case. */
const memory = z.string().regex(/^\d+(\.\d+)?\s*([kmg]i?b|b)?$/i, 'expected a size such as 512Mb or 1GiB');

const STAGES = ['create', 'create-links', 'configure', 'healthy', 'exit'] as const;
const stage = z.strictObject({
  'wait-for': z.array(z.strictObject({ node: z.string().min(1), stage: z.enum(STAGES) })).optional(),
  exec: z
    .array(
      z.strictObject({
        command: z.string().min(1),
        target: z.enum(['container', 'host']).optional(),
        phase: z.enum(['on-enter', 'on-exit']).optional(),
      }),
    )
    .optional(),
});

/** The settings of a node; the same keys serve topology.defaults, kinds.<kind> and groups.<name>. */
export const ClabNodeConfig = z
  .strictObject({
    kind,
    type: z.string(),
    group: z.string(),
    image: z.string().min(1),
    'image-pull-policy': z.enum(['IfNotPresent', 'ifnotpresent', 'Never', 'never', 'Always', 'always']),
    'restart-policy': z.enum(['no', 'on-failure', 'always', 'unless-stopped']),
    'link-apply-mode': z.enum(['live', 'restart', 'recreate']),
    license: z.string(),
    'startup-config': z.string(),
    'enforce-startup-config': z.boolean(),
    'suppress-startup-config': z.boolean(),
    'auto-remove': z.boolean(),
    'startup-delay': nonNegativeInt,
    binds: z.array(bind).min(1).refine((a) => new Set(a).size === a.length, 'duplicate binds'),
    volumes: uniqueStrings,
    ports: z.array(port),
    env: scalarMap,
    'env-files': uniqueStrings,
    credentials: z.strictObject({ username: z.string(), password: z.string(), 'identity-file': z.string() }).partial(),
    user: z.union([z.string().min(1), nonNegativeInt]),
    hostname: z.string().min(1),
    entrypoint: z.string(),
    cmd: z.string(),
    labels,
    'mgmt-ipv4': ipv4,
    'mgmt-ipv6': ipv6,
    dns: z.strictObject({ servers: uniqueStrings, search: uniqueStrings, options: uniqueStrings }).partial(),
    'network-mode': z.string().regex(/^(host|none|container:\S+)$/, 'expected host, none or container:<node>'),
    runtime: z.enum(['docker', 'podman']),
    exec: z.array(z.string()).min(1),
    memory,
    cpu: z.number().min(0),
    'cpu-set': z.string(),
    'shm-size': memory,
    devices: uniqueStrings,
    'cap-add': uniqueStrings,
    privileged: z.boolean(),
    'cgroupns-mode': z.enum(['host', 'private']),
    'cgroup-parent': z.string(),
    'pid-mode': z.string(),
    tmpfs: z.record(z.string().regex(/^\//, 'expected an absolute container path'), z.string()),
    'security-opts': uniqueStrings,
    sysctls: z.record(z.string().min(1), z.union([z.string(), z.number()])),
    stages: z.strictObject(Object.fromEntries(STAGES.map((s) => [s, stage.optional()]))),
    certificate: z
      .strictObject({ issue: z.boolean(), sans: uniqueStrings, 'key-size': z.int().min(1), 'validity-duration': z.string() })
      .partial(),
    healthcheck: z
      .strictObject({ test: z.array(z.string()).min(1), 'start-period': nonNegativeInt, interval: nonNegativeInt, timeout: nonNegativeInt, retries: nonNegativeInt })
      .partial(),
    aliases: uniqueStrings,
    // Kind-specific blocks (cEOS's extras, SR OS's components, ...): their kinds' pages describe them.
    extras: z.record(z.string(), z.unknown()),
    config: z.record(z.string(), z.unknown()),
    components: z.array(z.unknown()),
  })
  .partial();
export type ClabNodeConfig = z.infer<typeof ClabNodeConfig>;

const endpoint = z.strictObject({
  node: z.string().min(1),
  interface: z.string().min(1),
  mac: z.string().regex(/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/, 'expected a MAC address').optional(),
  ipv4: ipv4Prefix.optional(),
  ipv6: ipv6Prefix.optional(),
  vars: vars.optional(),
});
export type ClabEndpoint = z.infer<typeof endpoint>;

/** Per-endpoint addresses of the brief format: at most one per endpoint, "" skips one. */
const addressPair = (one: z.ZodType<string>) => z.array(z.union([z.literal(''), one])).min(1).max(2);

/** `endpoints: ["a:eth1", "b:eth1"]`: the node, a colon, the interface (node and interface without blanks). */
export const BRIEF_ENDPOINT_RE = /^[^\s:]+:\S+$/;

const briefLink = z.strictObject({
  type: z.undefined().optional(),
  endpoints: z.array(z.string().regex(BRIEF_ENDPOINT_RE, 'expected "node:interface"')).length(2, 'a link has exactly two endpoints'),
  mtu: mtu.optional(),
  ipv4: addressPair(ipv4Prefix).optional(),
  ipv6: addressPair(ipv6Prefix).optional(),
  vars: vars.optional(),
});

const common = { mtu: mtu.optional(), vars: vars.optional(), labels: labels.optional() };
const pair = z.array(endpoint).length(2, 'a link has exactly two endpoints');
const vxlan = {
  endpoint,
  remote: z.string().refine((s) => isIPv4(s) || isIPv6(s), 'expected an IP address'),
  vni: z.int().min(1).max(16_777_215),
  'dst-port': z.int().min(1).max(65535),
  'src-port': z.int().min(1).max(65535).optional(),
  ...common,
};

/** manual/topo-def-file#links: the brief format (no `type`) or one of the extended link types. */
export const ClabLink = z.discriminatedUnion('type', [
  briefLink,
  z.strictObject({ type: z.literal('veth'), endpoints: pair, ipv4: addressPair(ipv4Prefix).optional(), ipv6: addressPair(ipv6Prefix).optional(), ...common }),
  z.strictObject({ type: z.literal('veth-stitch'), endpoints: pair, ...common }),
  z.strictObject({ type: z.literal('mgmt-net'), endpoint, 'host-interface': z.string().min(1), ...common }),
  z.strictObject({
    type: z.literal('macvlan'),
    endpoint,
    'host-interface': z.string().min(1),
    mode: z.enum(['private', 'vepa', 'bridge', 'passthru', 'source']).optional(),
    vars: vars.optional(),
    labels: labels.optional(),
  }),
  z.strictObject({ type: z.literal('host'), endpoint, 'host-interface': z.string().min(1), ...common }),
  z.strictObject({ type: z.literal('vxlan'), ...vxlan }),
  z.strictObject({ type: z.literal('vxlan-stitch'), ...vxlan }),
  z.strictObject({ type: z.literal('dummy'), endpoint, ...common }),
]);
export type ClabLink = z.infer<typeof ClabLink>;

/** manual/network#management-network. */
const mgmt = z
  .strictObject({
    network: z.string().min(1),
    bridge: z.string().min(1),
    'ipv4-subnet': z.union([z.literal('auto'), ipv4Prefix]),
    'ipv6-subnet': z.union([z.literal('auto'), ipv6Prefix]),
    'ipv4-gw': ipv4,
    'ipv6-gw': ipv6,
    'ipv4-range': ipv4Prefix,
    'ipv6-range': ipv6Prefix,
    mtu,
    'external-access': z.boolean(),
    'skip-when-unused': z.boolean(),
    'driver-opts': scalarMap,
  })
  .partial();

/** manual/cert: an external CA (cert and key), or the generated one's key size and validity, not both. */
const certificateAuthority = z
  .strictObject({ cert: z.string(), key: z.string(), 'key-size': z.int().min(1), 'validity-duration': z.string() })
  .partial()
  .superRefine((ca, ctx) => {
    const external = ca.cert !== undefined || ca.key !== undefined;
    if (external && (ca.cert === undefined || ca.key === undefined)) ctx.addIssue({ code: 'custom', message: 'an external CA needs both cert and key' });
    if (external && (ca['key-size'] !== undefined || ca['validity-duration'] !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'key-size and validity-duration apply to the generated CA, not to an external one' });
    }
  });

export const ClabTopologyFile = z.strictObject({
  name: z.string().regex(NAME_RE, 'letters, digits, ".", "_" and "-", starting with a letter or digit'),
  prefix: z.string().regex(/^$|^__lab-name$|^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected "", "__lab-name" or a name').optional(),
  mgmt: mgmt.optional(),
  settings: z.strictObject({ 'certificate-authority': certificateAuthority.optional() }).optional(),
  topology: z.strictObject({
    nodes: z.record(z.string().regex(NAME_RE, 'node names: letters, digits, ".", "_" and "-"'), ClabNodeConfig.nullable()),
    kinds: z.partialRecord(kind, ClabNodeConfig).optional(),
    defaults: ClabNodeConfig.optional(),
    groups: z.record(z.string().min(1), ClabNodeConfig).optional(),
    links: z.array(ClabLink).optional(),
  }),
});
export type ClabTopologyFile = z.infer<typeof ClabTopologyFile>;

export interface ClabIssue {
  /** Dotted key path, `topology.nodes.site-a.image`; "(top level)" for the document. */
  path: string;
  message: string;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

function fromZod(issues: readonly z.core.$ZodIssue[]): ClabIssue[] {
  return issues.flatMap((iss): ClabIssue[] => {
    if (iss.code === 'unrecognized_keys') {
      const kinds = iss.path.length === 2 && iss.path[0] === 'topology' && iss.path[1] === 'kinds';
      return iss.keys.map((k) => ({ path: formatPath([...iss.path, k]), message: kinds ? unknownKind(k) : 'unknown key (containerlab rejects it)' }));
    }
    if (iss.code === 'invalid_key') {
      const inner = iss.issues[0]?.message ?? iss.message;
      return [{ path: formatPath(iss.path), message: iss.origin === 'record' ? `invalid key: ${inner}` : inner }];
    }
    if (iss.code === 'invalid_union' && 'discriminator' in iss) {
      return [{ path: formatPath(iss.path), message: 'unknown link type (brief links have no type; extended: veth, veth-stitch, mgmt-net, macvlan, host, vxlan, vxlan-stitch, dummy)' }];
    }
    return [{ path: formatPath(iss.path), message: iss.message }];
  });
}

/** Linux interface names (manual/topo-def-file, interface naming): at most 15 characters, no "/" or blanks. */
function linuxIfnameProblem(name: string): string | null {
  if (name.length > 15) return `interface "${name}" is longer than 15 characters`;
  if (/[/\s]/.test(name) || name === '.' || name === '..') return `interface "${name}" is not a Linux interface name`;
  return null;
}

/**
 * What containerlab checks once the file has decoded: every node has a kind (node
 * -> group -> defaults), `ports` only at node level, link endpoints name defined
 * nodes and each node:interface is used once, interfaces of linux nodes are Linux
 * interface names (the kind has no aliases).
 */
function crossCheck(t: ClabTopologyFile): ClabIssue[] {
  const issues: ClabIssue[] = [];
  const { nodes, defaults, groups = {}, kinds = {} } = t.topology;
  const kindOf = new Map<string, ClabKind | undefined>();
  for (const [name, raw] of Object.entries(nodes)) {
    const node = raw ?? {};
    const group = node.group === undefined ? undefined : groups[node.group];
    const kind = node.kind ?? group?.kind ?? defaults?.kind;
    kindOf.set(name, kind);
    if (kind === undefined) issues.push({ path: `topology.nodes.${name}.kind`, message: 'no kind (set it on the node, its group or topology.defaults)' });
  }
  const levels: [string, ClabNodeConfig | undefined][] = [
    ['topology.defaults', defaults],
    ...Object.entries(kinds).map(([k, v]): [string, ClabNodeConfig | undefined] => [`topology.kinds.${k}`, v]),
    ...Object.entries(groups).map(([g, v]): [string, ClabNodeConfig | undefined] => [`topology.groups.${g}`, v]),
  ];
  for (const [path, level] of levels) {
    if (level?.ports !== undefined) issues.push({ path: `${path}.ports`, message: 'ports can only be set on a node' });
    if (level?.kind !== undefined && path.startsWith('topology.kinds.')) issues.push({ path: `${path}.kind`, message: 'a kind block takes its kind from its key' });
  }

  const used = new Map<string, string>();
  (t.topology.links ?? []).forEach((link, i) => {
    const eps: { node: string; iface: string; path: string }[] = [];
    if (link.type === undefined) {
      link.endpoints.forEach((s, j) => {
        const colon = s.indexOf(':');
        eps.push({ node: s.slice(0, colon), iface: s.slice(colon + 1), path: `topology.links[${i}].endpoints[${j}]` });
      });
    } else if ('endpoints' in link) {
      link.endpoints.forEach((e, j) => eps.push({ node: e.node, iface: e.interface, path: `topology.links[${i}].endpoints[${j}]` }));
    } else {
      eps.push({ node: link.endpoint.node, iface: link.endpoint.interface, path: `topology.links[${i}].endpoint` });
    }
    for (const ep of eps) {
      const special = link.type === undefined && (CLAB_SPECIAL_ENDPOINTS as readonly string[]).includes(ep.node);
      if (!special && !kindOf.has(ep.node)) {
        issues.push({ path: ep.path, message: `node "${ep.node}" is not defined under topology.nodes` });
        continue;
      }
      if (special) continue;
      const key = `${ep.node}:${ep.iface}`;
      const first = used.get(key);
      if (first !== undefined) issues.push({ path: ep.path, message: `${key} is already used by ${first}` });
      else used.set(key, ep.path);
      const problem = kindOf.get(ep.node) === 'linux' ? linuxIfnameProblem(ep.iface) : null;
      if (problem !== null) issues.push({ path: ep.path, message: problem });
    }
  });
  return issues;
}

/** The problems containerlab would report for a parsed topology document; empty when it would deploy it. */
export function checkClabTopology(doc: unknown): ClabIssue[] {
  const parsed = ClabTopologyFile.safeParse(doc);
  return parsed.success ? crossCheck(parsed.data) : fromZod(parsed.error.issues);
}

/** Same, from the file's text. */
export function checkClabTopologyText(text: string): ClabIssue[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return [{ path: '(top level)', message: `not valid YAML: ${(e as Error).message}` }];
  }
  return checkClabTopology(doc);
}
