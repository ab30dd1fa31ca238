/**
 * The YAML shape of the configuration (kebab-case keys, the operator's contract in
 * design.md) as a zod schema, and its mapping onto the camelCase Config. Objects
 * are strict: a misspelt key is an error with its path, never silently ignored.
 */
import { z } from 'zod';
import type { KeyPath, RawIssue } from './issues.js';
import type { Config, MaxPrefixConfig, NeighborBfdConfig, NeighborBgpConfig, NeighborConfig, PrefixListEntry } from './types.js';
import {
  MAX_ASN,
  canonicalInterfaceAddress,
  canonicalIp,
  checkAsn,
  checkEndpoint,
  checkInterfaceAddress,
  checkInterfaceName,
  checkIp,
  checkNeighborName,
  checkNetnsName,
  checkRouterId,
  checkSocketPath,
  checkListenAddress,
  checkGroupName,
  checkRouterIdLike,
  checkPrefixListEntry,
  parsePrefixListEntry,

  checkWireguardKey,
} from './fields.js';
import {
  DEFAULT_CONTROL_SOCKET,
  DEFAULT_HOLD_TIME,
  DEFAULT_TUNNEL_MTU,
  MAX_TUNNEL_MTU,
  MAX_ADD_PATH_SEND,
  MIN_TUNNEL_MTU,
  DEFAULT_LINUX_PROTOCOL,
  DEFAULT_LINUX_METRIC,
  DEFAULT_GRACEFUL_RESTART_TIME,
  DEFAULT_VPP_API_SOCKET,
  DEFAULT_OSPF_HELLO,
  DEFAULT_OSPF_DEAD,
  DEFAULT_OSPF_DISTANCE,
  DEFAULT_FPM_LISTEN,
  DEFAULT_OSPF_EXTERNAL_TAG,
  DEFAULT_EBGP_MAX_PREFIX_IPV4,
  DEFAULT_EBGP_MAX_PREFIX_IPV6,
  DEFAULT_MAX_PREFIX_RESTART_AFTER,
  DEFAULT_BFD_INTERVAL_MS,
  DEFAULT_BFD_MULTIPLIER,
  LINUX_MAIN_TABLE,
} from './defaults.js';
import { canonicalPrefix } from '#lib/prefix';
import { announceEntry, bgpGlobalSchema, chain, policyConfig, policySchema } from './policy-schema.js';


/** A string judged by one of the field checks. */
function text(check: (v: string) => string | null) {
  return z.string().superRefine((v, ctx) => {
    const m = check(v);
    if (m !== null) ctx.addIssue({ code: 'custom', message: m });
  });
}

/**
 * One message naming the whole range reads better than zod's separate min/max/int
 * issues. `special` names values that deserve their own reason (reserved numbers).
 */
function intIn(min: number, max: number, special?: (v: number) => string | null) {
  return z.number().superRefine((v, ctx) => {
    const m = special?.(v) ?? null;
    if (m !== null) ctx.addIssue({ code: 'custom', message: m });
    else if (!Number.isInteger(v) || v < min || v > max) {
      ctx.addIssue({ code: 'custom', message: `must be an integer in ${min}..${max}, got ${v}` });
    }
  });
}

/** A YAML key left with every child commented out reads as null: treat it as absent. */
function absentIfNull<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema);
}

const asn = intIn(1, MAX_ASN, checkAsn);
/** A unix group by name or number (nogroup's 65534 and beyond are fine; (gid_t)-1 is not a group). */
const group = z.union([text(checkGroupName), intIn(0, 0xfffffffe)]);
const port = intIn(1, 65535);

/** RFC 4271 §4.2: the hold time is zero or at least three seconds. */
const holdTime = z.number().superRefine((v, ctx) => {
  if (!Number.isInteger(v) || !(v === 0 || (v >= 3 && v <= 65535))) {
    ctx.addIssue({ code: 'custom', message: `must be 0 or an integer in 3..65535 seconds (RFC 4271 §4.2), got ${v}` });
  }
});

/** rtnetlink protocol numbers 0..4 are the kernel's own (unspec, redirect, kernel, boot, static). */
const linuxProtocol = intIn(5, 255, (v) =>
  Number.isInteger(v) && v >= 0 && v <= 4
    ? `protocol ${v} is reserved for the kernel (RTPROT_UNSPEC..RTPROT_STATIC); use 5..255`
    : null,
);

/** Table ids are u32; 0 is "unspecified" and 255 is the kernel's local table. */
const linuxTable = z
  .custom<number | string>((v) => typeof v === 'number' || typeof v === 'string', {
    message: 'expected a table number or "main"',
  })
  .superRefine((v, ctx) => {
    if (v === 'main') return;
    if (typeof v === 'string') {
      ctx.addIssue({ code: 'custom', message: `expected a table number or "main", got ${JSON.stringify(v)}` });
    } else if (!Number.isInteger(v) || v < 1 || v > MAX_ASN) {
      ctx.addIssue({ code: 'custom', message: `must be "main" or an integer in 1..4294967295, got ${v}` });
    } else if (v === 255) {
      ctx.addIssue({ code: 'custom', message: 'table 255 is the kernel\'s local table' });
    }
  });

/** RFC 2385 keys: TCP_MD5SIG_MAXKEYLEN is 80 bytes. */
const md5Password = z.string().superRefine((v, ctx) => {
  const n = Buffer.byteLength(v, 'utf8');
  if (n === 0 || n > 80) ctx.addIssue({ code: 'custom', message: `must be 1..80 bytes (TCP MD5, RFC 2385), got ${n}` });
});

const tunnel = z.strictObject({
  local: z.array(text(checkInterfaceAddress)),
  remote: z.array(text(checkIp)),
});

/** An OSPF area as FRR takes it: dotted quad, or a number (0 is the backbone, 0.0.0.0). */
const ospfArea = z.union([text(checkRouterIdLike), intIn(0, 0xffffffff)]);

/** RFC 2328 D.3 (OSPFv2 cryptographic authentication, MD5: keys of at most 16 bytes); RFC 7166 for OSPFv3. */
const ospfAuthentication = z.strictObject({
  'key-id': intIn(1, 255),
  key: z.string().superRefine((v, ctx) => {
    const n = Buffer.byteLength(v, 'utf8');
    if (n === 0 || n > 16) ctx.addIssue({ code: 'custom', message: `must be 1..16 bytes (OSPF MD5 keys, RFC 2328 D.3), got ${n}` });
    // FRR takes the key as one word on its command line (and cuts longer MD5 keys silently).
    else if (!/^[\x21-\x7e]+$/.test(v)) ctx.addIssue({ code: 'custom', message: 'must be printable ASCII without blanks (FRR reads it as one word)' });
  }),
});

const neighborOspf = z.strictObject({
  area: ospfArea.default(0),
  cost: intIn(1, 65535).nullable().default(null),
  'hello-interval': intIn(1, 65535).default(DEFAULT_OSPF_HELLO),
  'dead-interval': intIn(1, 65535).default(DEFAULT_OSPF_DEAD),
  passive: z.boolean().default(false),
  authentication: ospfAuthentication.nullable().default(null),
});

/** A family's limit: a count of prefixes, or false for none. */
const prefixLimit = z.union([z.literal(false), intIn(1, MAX_ASN)]);

/** `bgp.max-prefix` (RFC 4486 §4): restart-after only goes with action restart. */
const maxPrefix = z
  .strictObject({
    ipv4: prefixLimit.optional(),
    ipv6: prefixLimit.optional(),
    action: z.enum(['warning', 'restart']).default('warning'),
    'restart-after': intIn(1, 65535).optional(),
  })
  .superRefine((v, ctx) => {
    if (v['restart-after'] !== undefined && v.action !== 'restart') {
      ctx.addIssue({ code: 'custom', path: ['restart-after'], message: 'goes with action: restart (a warning never tears the session down)' });
    }
  });

/** BFD intervals in milliseconds, FRR's range (10 ms to 60 s). */
const bfdInterval = intIn(10, 60_000);
const bfdMultiplier = intIn(1, 255);

/** The top-level `bfd` block: the defaults of every neighbor's `bfd`. */
const bfdDefaults = z
  .strictObject({
    enabled: z.boolean().default(false),
    'min-rx': bfdInterval.default(DEFAULT_BFD_INTERVAL_MS),
    'min-tx': bfdInterval.default(DEFAULT_BFD_INTERVAL_MS),
    multiplier: bfdMultiplier.default(DEFAULT_BFD_MULTIPLIER),
  })
  .prefault({});

/** A neighbor's `bfd`: true/false, or a mapping of the keys it changes (a mapping turns BFD on unless `enabled: false`). */
const neighborBfd = z.union([
  z.boolean(),
  z.strictObject({
    enabled: z.boolean().optional(),
    'min-rx': bfdInterval.optional(),
    'min-tx': bfdInterval.optional(),
    multiplier: bfdMultiplier.optional(),
  }),
]);

const neighbor = z.strictObject({
  name: text(checkNeighborName),
  interface: text(checkInterfaceName),
  'public-key': text(checkWireguardKey),
  endpoint: text(checkEndpoint).nullable().default(null),
  'listen-port': port.nullable().default(null),
  'persistent-keepalive': intIn(0, 65535).default(0),
  mtu: intIn(MIN_TUNNEL_MTU, MAX_TUNNEL_MTU).default(DEFAULT_TUNNEL_MTU),
  tunnel: tunnel.nullable().default(null),
  'source-address': text(checkIp).nullable().default(null),
  bgp: z.strictObject({
    asn,
    'hold-time': holdTime.default(DEFAULT_HOLD_TIME),
    passive: z.boolean().default(false),
    'ttl-security': z.boolean().default(true),
    password: md5Password.nullable().default(null),
    'graceful-restart': z.boolean().default(true),
    // RFC 4724 §3: 12 bits of seconds.
    'graceful-restart-time': intIn(1, 4095).default(DEFAULT_GRACEFUL_RESTART_TIME),
    // RFC 9494 §3: 24 bits of seconds; 0: no long-lived graceful restart (the default, docs/configuration.md says why).
    'long-lived-stale-time': intIn(0, 0xffffff).default(0),
    /** OSPF → BGP towards this neighbor: off, every internal OSPF route, or those matching the list. */
    'advertise-ospf': z.union([z.boolean(), z.array(text(checkPrefixListEntry))]).default(false),
    /** Per family: a limit, or false for none; absent: the eBGP default (none for iBGP); false: none at all. */
    'max-prefix': z.preprocess((v) => (v === false ? { ipv4: false, ipv6: false } : v), maxPrefix).optional(),
    /** RFC 9234: our role on this (eBGP) session; absent: no BGP Role capability, no OTC procedures. */
    role: z.enum(['provider', 'rs', 'rs-client', 'customer', 'peer']).nullable().default(null),
    /** RFC 9234 §4.2 strict mode: a peer that sends no BGP Role capability is refused (Role Mismatch). */
    'role-strict': z.boolean().default(false),
    /** Policy chains (names in `policy.policies`), applied in order. */
    import: chain,
    export: chain,
    /** Keep the pre-policy attributes of every path: an import policy change then needs no ROUTE-REFRESH. */
    'soft-reconfiguration-inbound': z.boolean().default(false),
    /** RFC 7911 ADD-PATH for IPv4 and IPv6 unicast: receive several paths per prefix; send up to N (false: only the best). */
    'add-path': z
      .strictObject({
        receive: z.boolean().default(false),
        send: z.union([z.literal(false), intIn(1, MAX_ADD_PATH_SEND)]).default(false),
      })
      .prefault({}),
  })
    .superRefine((b, ctx) => {
      if (b['role-strict'] && b.role === null) ctx.addIssue({ code: 'custom', path: ['role-strict'], message: 'needs bgp.role (strict mode is about the peer\'s role capability)' });
      // RFC 9494 §4.1: the long-lived capability is sent only together with the graceful restart capability.
      if (b['long-lived-stale-time'] > 0 && !b['graceful-restart']) {
        ctx.addIssue({ code: 'custom', path: ['long-lived-stale-time'], message: 'needs bgp.graceful-restart: long-lived graceful restart (RFC 9494) works on top of it' });
      }
    })
    // Absent: an OSPF-only neighbor (the cross-check wants bgp, ospf or both).
    .nullable()
    .default(null),
  ospf: neighborOspf.nullable().default(null),
  bfd: neighborBfd.nullable().default(null),
}).superRefine((n, ctx) => {
  const on = n.bfd === true || (typeof n.bfd === 'object' && n.bfd !== null && n.bfd.enabled !== false);
  if (on && n.bgp === null) ctx.addIssue({ code: 'custom', path: ['bfd'], message: 'needs bgp: BFD here takes the BGP session down, and this neighbor runs OSPF only' });
});

export const configSchema = z.strictObject({
  router: z.strictObject({
    asn,
    'router-id': text(checkRouterId),
  }),
  control: absentIfNull(
    z
      .strictObject({
        socket: text(checkSocketPath).default(DEFAULT_CONTROL_SOCKET),
        group: group.nullable().default(null),
        'admin-group': group.nullable().default(null),
      })
      .prefault({}),
  ),
  ospf: z
    .strictObject({
      'router-id': text(checkRouterId).nullable().default(null),
      'reference-bandwidth': intIn(1, 4294967).nullable().default(null),
      distance: intIn(1, 255).default(DEFAULT_OSPF_DISTANCE),
      'redistribute-bgp': z.boolean().default(false),
      'external-tag': intIn(1, 0xffffffff).default(DEFAULT_OSPF_EXTERNAL_TAG),
      frr: z
        .strictObject({
          vtysh: z.string().min(1).default('/usr/bin/vtysh'),
          pathspace: text(checkNetnsName).nullable().default(null),
          'fpm-listen': text(checkListenAddress).default(DEFAULT_FPM_LISTEN),
        })
        .prefault({}),
    })
    .nullable()
    .default(null),
  metrics: absentIfNull(
    z
      .strictObject({
        listen: text(checkListenAddress).nullable().default(null),
      })
      .prefault({}),
  ),
  dataplane: absentIfNull(
    z
      .strictObject({
        wireguard: z.enum(['auto', 'kernel', 'wireguard-go', 'vpp']).default('auto'),
        fib: z.enum(['linux', 'vpp', 'none']).default('linux'),
        'keep-on-stop': z.boolean().default(true),
        linux: absentIfNull(
          z
            .strictObject({
              protocol: linuxProtocol.default(DEFAULT_LINUX_PROTOCOL),
              table: linuxTable.default(LINUX_MAIN_TABLE),
              // Not 0: a delete without a metric matches any, so ours must name one.
              metric: intIn(1, MAX_ASN).default(DEFAULT_LINUX_METRIC),
            })
            .prefault({}),
        ),
        vpp: absentIfNull(
          z
            .strictObject({
              'api-socket': text(checkSocketPath).default(DEFAULT_VPP_API_SOCKET),
              'linux-cp': z.boolean().default(true),
              'linux-cp-netns': text(checkNetnsName).nullable().default(null),
              'table-id': intIn(0, MAX_ASN).default(0),
              'control-interface': text(checkInterfaceName).nullable().default(null),
            })
            .prefault({}),
        ),
      })
      .prefault({}),
  ),
  wireguard: z.strictObject({
    'private-key-file': z.string().min(1),
    'source-address': text(checkIp).nullable().default(null),
    'reresolve-after': intIn(10, 86400).default(135),
  }),
  announce: absentIfNull(z.array(announceEntry).default([])),
  bgp: absentIfNull(bgpGlobalSchema),
  policy: absentIfNull(policySchema),
  bfd: absentIfNull(bfdDefaults),
  neighbors: absentIfNull(z.array(neighbor).default([])),
});

export type ConfigYaml = z.output<typeof configSchema>;

/** Plain-words rendering of a zod issue; the field checks already speak for themselves. */
function describeValue(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function kebab(key: string): string {
  return key.replace(/_/g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

export function zodIssuesToRaw(issues: readonly z.core.$ZodIssue[]): RawIssue[] {
  const out: RawIssue[] = [];
  for (const iss of issues) {
    const path: KeyPath = iss.path.map((p) => (typeof p === 'number' ? p : String(p)));
    switch (iss.code) {
      case 'invalid_type':
        // YAML yields no undefined: an undefined input is an absent key.
        if (iss.input === undefined) out.push({ path, message: 'required key is missing' });
        else out.push({ path, message: `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}` });
        break;
      case 'unrecognized_keys':
        for (const key of iss.keys) {
          const hint = kebab(key) !== key ? ` (keys are kebab-case: ${kebab(key)}?)` : '';
          out.push({ path: [...path, key], message: `unknown key${hint}` });
        }
        break;
      case 'invalid_value':
        out.push({
          path,
          message: `expected one of ${iss.values.map((v) => String(v)).join(', ')}; got ${describeValue(iss.input)}`,
        });
        break;
      case 'too_small':
        out.push({ path, message: iss.origin === 'string' ? 'must not be empty' : `must be at least ${iss.minimum}` });
        break;
      case 'too_big':
        out.push({ path, message: `must be at most ${iss.maximum}` });
        break;
      default:
        out.push({ path, message: iss.message });
    }
  }
  return out;
}

/** Areas as FRR prints them: dotted quads. */
export function ospfAreaText(a: string | number): string {
  if (typeof a === 'string') return a;
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

function advertiseOspf(v: boolean | string[]): NeighborBgpConfig['advertiseOspf'] {
  if (v === false) return null;
  if (v === true) return { prefixes: null };
  const prefixes: PrefixListEntry[] = [];
  for (const e of v) {
    const p = parsePrefixListEntry(e);
    if (typeof p !== 'string') prefixes.push(p); // the schema checked every entry
  }
  return { prefixes };
}

type MaxPrefixYaml = NonNullable<ConfigYaml['neighbors'][number]['bgp']>['max-prefix'];

/** Absent: 2 M IPv4 and 500 k IPv6, warning, for eBGP; no limit for iBGP (issue 11). `false` came as both families false. */
function maxPrefixConfig(v: MaxPrefixYaml, ebgp: boolean): MaxPrefixConfig | null {
  const limit = (l: number | false | undefined, ebgpDefault: number): number | null => (l === false ? null : (l ?? (ebgp ? ebgpDefault : null)));
  const ipv4 = limit(v?.ipv4, DEFAULT_EBGP_MAX_PREFIX_IPV4);
  const ipv6 = limit(v?.ipv6, DEFAULT_EBGP_MAX_PREFIX_IPV6);
  if (ipv4 === null && ipv6 === null) return null;
  return { ipv4, ipv6, action: v?.action ?? 'warning', restartAfter: v?.['restart-after'] ?? DEFAULT_MAX_PREFIX_RESTART_AFTER };
}

/** A neighbor's BFD: its own keys over the top-level defaults; null when off. */
function bfdConfig(v: ConfigYaml['neighbors'][number]['bfd'], d: ConfigYaml['bfd']): NeighborBfdConfig | null {
  const enabled = v === null ? d.enabled : typeof v === 'boolean' ? v : (v.enabled ?? true);
  if (!enabled) return null;
  const own = typeof v === 'object' && v !== null ? v : {};
  return { minRx: own['min-rx'] ?? d['min-rx'], minTx: own['min-tx'] ?? d['min-tx'], multiplier: own.multiplier ?? d.multiplier };
}

function neighborConfig(n: ConfigYaml['neighbors'][number], localAsn: number, bfd: ConfigYaml['bfd']): NeighborConfig {
  return {
    name: n.name,
    interface: n.interface,
    publicKey: n['public-key'],
    endpoint: n.endpoint,
    listenPort: n['listen-port'],
    persistentKeepalive: n['persistent-keepalive'],
    mtu: n.mtu,
    tunnel: n.tunnel && {
      local: n.tunnel.local.map(canonicalInterfaceAddress),
      remote: n.tunnel.remote.map(canonicalIp),
    },
    sourceAddress: n['source-address'] === null ? null : canonicalIp(n['source-address']),
    bgp: n.bgp && {
      asn: n.bgp.asn,
      holdTime: n.bgp['hold-time'],
      passive: n.bgp.passive,
      ttlSecurity: n.bgp['ttl-security'],
      password: n.bgp.password,
      gracefulRestart: n.bgp['graceful-restart'],
      gracefulRestartTime: n.bgp['graceful-restart-time'],
      longLivedStaleTime: n.bgp['long-lived-stale-time'],
      advertiseOspf: advertiseOspf(n.bgp['advertise-ospf']),
      maxPrefix: maxPrefixConfig(n.bgp['max-prefix'], n.bgp.asn !== localAsn),
      ...(n.bgp.role === null ? {} : { role: n.bgp.role, roleStrict: n.bgp['role-strict'] }),
      import: n.bgp.import,
      export: n.bgp.export,
      softReconfigurationInbound: n.bgp['soft-reconfiguration-inbound'],
      addPath: { receive: n.bgp['add-path'].receive, send: n.bgp['add-path'].send === false ? 0 : n.bgp['add-path'].send },
    },
    ospf: n.ospf && {
      area: ospfAreaText(n.ospf.area),
      cost: n.ospf.cost,
      helloInterval: n.ospf['hello-interval'],
      deadInterval: n.ospf['dead-interval'],
      passive: n.ospf.passive,
      authentication: n.ospf.authentication && { keyId: n.ospf.authentication['key-id'], key: n.ospf.authentication.key },
    },
    // BFD takes down the BGP session; an OSPF-only neighbor has none (the cross-check says so).
    bfd: n.bgp === null ? null : bfdConfig(n.bfd, bfd),
  };
}

type AnnounceYaml = ConfigYaml['announce'][number];

function announcePrefix(e: AnnounceYaml): string {
  const p = typeof e === 'string' ? e : e.prefix;
  return canonicalPrefix(p) ?? p;
}

/** Communities per announced prefix; a prefix listed twice carries the communities of both entries. */
function announceCommunities(entries: readonly AnnounceYaml[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of entries) {
    if (typeof e === 'string' || e.communities.length === 0) continue;
    const p = announcePrefix(e);
    out[p] = [...new Set([...(out[p] ?? []), ...e.communities])];
  }
  return out;
}

/** Maps validated YAML onto Config; `privateKeyFile` is resolved by the caller (it knows the file's folder). */
export function toConfig(y: ConfigYaml, privateKeyFile: string): Config {
  const dp = y.dataplane;
  const table = dp.linux.table;
  return {
    router: { asn: y.router.asn, routerId: y.router['router-id'] },
    control: { socket: y.control.socket, group: y.control.group, adminGroup: y.control['admin-group'] },
    metrics: { listen: y.metrics.listen },
    ospf: y.ospf && {
      routerId: y.ospf['router-id'] ?? y.router['router-id'],
      referenceBandwidth: y.ospf['reference-bandwidth'],
      distance: y.ospf.distance,
      redistributeBgp: y.ospf['redistribute-bgp'],
      externalTag: y.ospf['external-tag'],
      frr: { vtysh: y.ospf.frr.vtysh, pathspace: y.ospf.frr.pathspace, fpmListen: y.ospf.frr['fpm-listen'] },
    },
    dataplane: {
      wireguard: dp.wireguard,
      fib: dp.fib,
      keepOnStop: dp['keep-on-stop'],
      linux: { protocol: dp.linux.protocol, table: table === 'main' ? LINUX_MAIN_TABLE : Number(table), metric: dp.linux.metric },
      vpp: {
        apiSocket: dp.vpp['api-socket'],
        linuxCp: dp.vpp['linux-cp'],
        linuxCpNetns: dp.vpp['linux-cp-netns'],
        tableId: dp.vpp['table-id'],
        controlInterface: dp.vpp['control-interface'],
      },
    },
    wireguard: {
      privateKeyFile,
      sourceAddress: y.wireguard['source-address'] === null ? null : canonicalIp(y.wireguard['source-address']),
      reresolveAfter: y.wireguard['reresolve-after'],
    },
    announce: [...new Set(y.announce.map((e) => announcePrefix(e)))],
    announceCommunities: announceCommunities(y.announce),
    requirePolicy: y.bgp['require-policy'],
    multipath: { enabled: y.bgp.multipath.enabled, maxPaths: y.bgp.multipath['max-paths'], relaxAsPath: y.bgp.multipath['relax-as-path'] },
    policy: policyConfig(y.policy),
    neighbors: y.neighbors.map((n) => neighborConfig(n, y.router.asn, y.bfd)),
  };
}
