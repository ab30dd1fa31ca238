/**
 * FRR's running configuration, read and changed frr-reload style: parse
 * `show running-config` into stanzas, cut out the part the agent owns
 * (OwnedConfig, see frr-model), and compute the vtysh commands that turn that
 * part into the rendered one and touch nothing else.
 *
 * Lines are compared by identity (a key, e.g. `ip ospf cost` or
 * `ip ospf message-digest-key 1`) and value, so a changed cost is one command,
 * not a remove and an add that would reset the adjacency. Three FRR 8.4 facts
 * shape the plan (checked in namespaces):
 *
 * - `ip ospf area` / `ipv6 ospf6 area` cannot be changed in place: ospfd
 *   refuses ("Must remove previous area config"), ospf6d answers "already
 *   attached" and keeps the old area. A new area is a remove, then an add.
 * - ospfd does not print `ip ospf network point-to-point` on an interface whose
 *   link is POINTOPOINT (wireguard-go, kernel WireGuard): it is the default
 *   there. The caller says which links are (PlanContext.pointToPoint).
 * - A new `ospf router-id` / `ospf6 router-id` is only stored while the
 *   instance runs ("use clear ip ospf process"). The plan then clears the
 *   process (PlanContext.effectiveRouterId), which restarts the adjacencies
 *   of that daemon; they are all the agent's, and a router-id that says one
 *   thing while OSPF uses another would mislead every status query.
 *
 * Pure: no I/O.
 */
import { MANAGED_PREFIX_LIST_PREFIX, MANAGED_ROUTE_MAP_PREFIX, type OspfDesired } from './frr-model.js';
import { comparePrefixListLines, compareRouteMapHeaders, parseRouteMapHeader, renderOwned, type OwnedConfig } from './frr-render.js';

/** `interface X`, `router ospf`, `route-map N permit 10` …: a header and its body. */
export interface Stanza {
  header: string;
  /** Body lines with the first level of indentation removed (nested ones keep theirs). */
  lines: string[];
}

export interface RunningConfig {
  /** Lines outside any stanza (`frr version …`, `hostname …`, `fpm address …`). */
  topLevel: string[];
  stanzas: Stanza[];
}

/**
 * Reads `show running-config` (or frr.conf) text. A line in column 0 opens a
 * stanza when indented lines or `exit` follow it, and is a top-level line
 * otherwise; `!` and blank lines separate, `end` ends.
 */
export function parseRunningConfig(text: string): RunningConfig {
  const all = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const start = all.findIndex((l) => l.trim() === 'Current configuration:');
  const topLevel: string[] = [];
  const stanzas: Stanza[] = [];
  let open: Stanza | null = null;
  const close = (byExit: boolean): void => {
    if (open === null) return;
    if (open.lines.length > 0 || byExit) stanzas.push(open);
    else topLevel.push(open.header);
    open = null;
  };
  for (const raw of all.slice(start + 1)) {
    const line = raw.trimEnd();
    if (line.trim() === '' || line.startsWith('!')) {
      close(false);
      continue;
    }
    if (line === 'end') {
      close(false);
      break;
    }
    if (line === 'exit') {
      close(true);
      continue;
    }
    if (/^\s/.test(line)) {
      // Indented `!` separates blocks inside a stanza; an indented line with no
      // stanza open is not FRR's output. Neither is anything to own.
      if (open !== null && !line.trim().startsWith('!')) (open as Stanza).lines.push(line.replace(/^ /, ''));
      continue;
    }
    close(false);
    open = { header: collapse(line), lines: [] };
  }
  close(false);
  return { topLevel, stanzas };
}

function collapse(line: string): string {
  return line.trim().replace(/\s+/g, ' ');
}

/** A line as the differ compares it: blanks collapsed, a decimal area as FRR's dotted quad. */
export function normalizeLine(line: string): string {
  const l = collapse(line);
  const m = /^(ip ospf area|ipv6 ospf6 area) (\d+)$/.exec(l);
  if (m === null) return l;
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n > 0xffffffff) return l;
  return `${m[1]} ${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}`;
}

export function isOspfInterfaceLine(line: string): boolean {
  return /^(no )?(ip ospf|ipv6 ospf6) /.test(line);
}

export function isManagedRouteMap(header: string): boolean {
  const m = /^route-map (\S+) (permit|deny) \d+$/.exec(header);
  return m !== null && m[1]!.startsWith(MANAGED_ROUTE_MAP_PREFIX);
}

/** An `ip prefix-list` / `ipv6 prefix-list` line (an entry, or a description) of a list the driver owns. */
export function isManagedPrefixList(line: string): boolean {
  const m = /^(ip|ipv6) prefix-list (\S+)( |$)/.exec(line);
  return m !== null && m[2]!.startsWith(MANAGED_PREFIX_LIST_PREFIX);
}

/**
 * The part of `running` the driver owns: the OSPF lines of the interfaces in
 * `scope` (an interface missing from `running` maps to []), both router
 * stanzas, the managed route-maps and prefix-lists (in renderOwned's order,
 * not FRR's creation order) and the fpm lines.
 */
export function ownedPart(running: RunningConfig, scope: Iterable<string>): OwnedConfig {
  const byHeader = new Map<string, string[]>();
  for (const s of running.stanzas) byHeader.set(s.header, [...(byHeader.get(s.header) ?? []), ...s.lines]);
  const interfaces = new Map<string, string[]>();
  for (const name of [...new Set(scope)].sort()) {
    interfaces.set(name, (byHeader.get(`interface ${name}`) ?? []).filter(isOspfInterfaceLine).map(normalizeLine));
  }
  const managed = [...byHeader].filter(([header]) => isManagedRouteMap(header)).sort(([a], [b]) => compareRouteMapHeaders(a, b));
  const routeMaps = new Map(managed.map(([header, lines]) => [header, lines.map(normalizeLine)]));
  const router = (h: string): string[] | null => byHeader.get(h)?.map(normalizeLine) ?? null;
  return {
    fpm: running.topLevel.filter((l) => /^(no )?fpm /.test(l)).map(normalizeLine),
    interfaces,
    routerOspf: router('router ospf'),
    routerOspf6: router('router ospf6'),
    routeMaps,
    prefixLists: running.topLevel.filter(isManagedPrefixList).map(normalizeLine).sort(comparePrefixListLines),
  };
}

interface LineIdentity {
  key: string;
  /** Setting the new value replaces the old one; otherwise the old line is removed first. */
  inPlace: boolean;
}

const IDENTITIES: readonly { re: RegExp; key: (m: RegExpExecArray) => string; inPlace: boolean }[] = [
  { re: /^(ip ospf|ipv6 ospf6) area \S+$/, key: (m) => `${m[1]} area`, inPlace: false },
  {
    re: /^(ip ospf|ipv6 ospf6) (cost|hello-interval|dead-interval|network|priority|retransmit-interval|transmit-delay) \S+$/,
    key: (m) => `${m[1]} ${m[2]}`,
    inPlace: true,
  },
  { re: /^ip ospf authentication( message-digest| null)?$/, key: () => 'ip ospf authentication', inPlace: true },
  { re: /^ip ospf authentication-key \S+$/, key: () => 'ip ospf authentication-key', inPlace: true },
  { re: /^ip ospf message-digest-key (\d+) md5 \S+$/, key: (m) => `ip ospf message-digest-key ${m[1]}`, inPlace: true },
  { re: /^ipv6 ospf6 authentication (key-id|keychain) /, key: () => 'ipv6 ospf6 authentication', inPlace: true },
  { re: /^(ospf6?) router-id \S+$/, key: (m) => `${m[1]} router-id`, inPlace: true },
  { re: /^auto-cost reference-bandwidth \d+$/, key: () => 'auto-cost reference-bandwidth', inPlace: true },
  { re: /^redistribute (\S+)( .*)?$/, key: (m) => `redistribute ${m[1]}`, inPlace: true },
  { re: /^set (tag|metric|metric-type) \S+$/, key: (m) => `set ${m[1]}`, inPlace: true },
  // A route-map entry keeps one line per match condition: a new value replaces the old one.
  { re: /^(match .+) \S+$/, key: (m) => m[1]!, inPlace: true },
  // FRR 8.4 changes a seq's entry in place (but see diffPrefixLists).
  { re: /^(ip|ipv6) prefix-list (\S+) seq (\d+) /, key: (m) => `${m[1]} prefix-list ${m[2]} seq ${m[3]}`, inPlace: true },
  { re: /^fpm address /, key: () => 'fpm address', inPlace: true },
  { re: /^(no )?fpm use-next-hop-groups$/, key: () => 'fpm use-next-hop-groups', inPlace: true },
];

function identityOf(line: string): LineIdentity {
  for (const rule of IDENTITIES) {
    const m = rule.re.exec(line);
    if (m !== null) return { key: rule.key(m), inPlace: rule.inPlace };
  }
  return { key: `line ${line}`, inPlace: false };
}

/**
 * The command that removes `line`. Mostly `no` + the line; the exceptions are
 * forms FRR 8.4 does not take whole, or would echo a key for nothing.
 */
export function negate(line: string): string {
  if (line.startsWith('no ')) return line.slice(3);
  const mdKey = /^ip ospf message-digest-key (\d+) /.exec(line);
  if (mdKey !== null) return `no ip ospf message-digest-key ${mdKey[1]}`;
  if (line.startsWith('ip ospf authentication-key ')) return 'no ip ospf authentication-key';
  if (line.startsWith('fpm address ')) return 'no fpm address';
  const entry = /^((ip|ipv6) prefix-list \S+ seq \d+) /.exec(line);
  if (entry !== null) return `no ${entry[1]}`;
  return `no ${line}`;
}

interface LineDiff {
  /** Lines whose identity is gone from the target. */
  gone: string[];
  /** Lines that must be removed before their new value is set. */
  replaced: string[];
  /** Lines to set (new, or a new value). */
  sets: string[];
}

function diffByIdentity(current: readonly string[], target: readonly string[]): LineDiff {
  const have = new Map<string, string>();
  for (const l of current) have.set(identityOf(normalizeLine(l)).key, normalizeLine(l));
  const want = new Map<string, string>();
  for (const l of target) want.set(identityOf(normalizeLine(l)).key, normalizeLine(l));
  const out: LineDiff = { gone: [], replaced: [], sets: [] };
  for (const [key, line] of have) {
    const next = want.get(key);
    if (next === undefined) out.gone.push(line);
    else if (next !== line && !identityOf(line).inPlace) out.replaced.push(line);
  }
  for (const [key, line] of want) if (have.get(key) !== line) out.sets.push(line);
  return out;
}

/** Commands inside one stanza (or at top level) that turn `current` into `target`: removals first. */
export function diffLines(current: readonly string[], target: readonly string[]): string[] {
  const d = diffByIdentity(current, target);
  return [...[...d.gone, ...d.replaced].map(negate), ...d.sets];
}

/** An entry line without its seq ("ip prefix-list P permit 10.0.0.0/8"): what FRR compares to find duplicates. */
function entryContent(line: string): string {
  return line.replace(/^((?:ip|ipv6) prefix-list \S+) seq \d+ /, '$1 ');
}

/**
 * The prefix-list commands in two parts: `early`, before the route-maps that
 * match them, the new entries and new values; `late`, after the route-maps
 * and routers stopped using them, the entries no longer desired (FRR deletes
 * a list with its last entry). So a peer's tunnel host route, whose deny
 * entry goes with the permit entry of its tunnel, is never redistributed in
 * between.
 *
 * FRR 8.4 silently drops an entry equal to another of the list but for its
 * seq (vtysh exits 0): an entry whose content moves to another seq, or that
 * two seqs swap, is removed early, before it is set again.
 */
export function diffPrefixLists(current: readonly string[], target: readonly string[]): { early: string[]; late: string[] } {
  const d = diffByIdentity(current, target);
  const want = new Set(target.map(normalizeLine));
  const adding = new Set(d.sets.map(entryContent));
  const collide = current.map(normalizeLine).filter((l) => !want.has(l) && adding.has(entryContent(l)));
  return {
    early: [...collide.map(negate), ...d.sets],
    late: d.gone.filter((l) => !adding.has(entryContent(l))).map(negate),
  };
}

export interface PlanContext {
  /** Interfaces whose link is POINTOPOINT (zebra's flags): there ospfd leaves out `ip ospf network point-to-point`. */
  pointToPoint: ReadonlySet<string>;
  /** The router IDs ospfd / ospf6d use right now; null: no instance (or the daemon is not running). */
  effectiveRouterId: { v4: string | null; v6: string | null };
}

export interface Plan {
  /** Configuration commands, for one `configure terminal` … `end`. */
  config: string[];
  /** Commands after `end` (`clear ip ospf process` for a new router-id). */
  exec: string[];
}

export const EMPTY_CONTEXT: PlanContext = { pointToPoint: new Set(), effectiveRouterId: { v4: null, v6: null } };

/** The target lines of an interface as ospfd would print them on this link. */
function asPrinted(name: string, current: readonly string[], target: readonly string[], ctx: PlanContext): readonly string[] {
  if (!ctx.pointToPoint.has(name)) return target;
  if (current.some((l) => l.startsWith('ip ospf network '))) return target;
  return target.filter((l) => l !== 'ip ospf network point-to-point');
}

function routerId(lines: readonly string[] | null, keyword: 'ospf' | 'ospf6'): string | null {
  const line = lines?.find((l) => l.startsWith(`${keyword} router-id `));
  return line === undefined ? null : line.slice(keyword.length + ' router-id '.length);
}

/** "route-map N permit 10" → "N 10": FRR keys an entry by name and seq, the action is a value of it. */
function routeMapEntryKey(header: string): string {
  const h = parseRouteMapHeader(header);
  return h === null ? header : `${h.name} ${h.seq}`;
}

/**
 * The commands that bring `current` (ownedPart of the running configuration)
 * to `target`. Order: fpm lines; prefix-list entries (before the route-maps
 * that match them); route-map entries (defined before anything references
 * them); the router stanzas (router-id before an interface can start the
 * instance with a router-id of its own choosing, and an old
 * `network … area` gone before `ip ospf area` needs it gone); the interfaces;
 * then what goes away, in the reverse order: `router ospf`/`router ospf6`
 * after their interfaces left them, stale route-map entries, then stale
 * prefix-list entries.
 */
export function planChanges(current: OwnedConfig, target: OwnedConfig, ctx: PlanContext = EMPTY_CONTEXT): Plan {
  const config: string[] = [];
  const block = (header: string, body: readonly string[]): void => {
    if (body.length > 0) config.push(header, ...body, 'exit');
  };
  config.push(...diffLines(current.fpm, target.fpm));
  const lists = diffPrefixLists(current.prefixLists, target.prefixLists);
  config.push(...lists.early);
  const currentByKey = new Map([...current.routeMaps.keys()].map((h) => [routeMapEntryKey(h), h]));
  const targetKeys = new Set([...target.routeMaps.keys()].map(routeMapEntryKey));
  for (const [header, lines] of target.routeMaps) {
    const have = current.routeMaps.get(header);
    if (have !== undefined) {
      block(header, diffLines(have, lines));
      continue;
    }
    // A new entry, even one without lines; or a new action for a seq, which FRR
    // 8.4 changes in place, keeping the entry's lines.
    const before = currentByKey.get(routeMapEntryKey(header));
    config.push(header, ...diffLines(before === undefined ? [] : (current.routeMaps.get(before) ?? []), lines), 'exit');
  }
  const routers = [
    ['router ospf', current.routerOspf, target.routerOspf],
    ['router ospf6', current.routerOspf6, target.routerOspf6],
  ] as const;
  for (const [header, have, want] of routers) {
    if (want === null) continue;
    if (have === null) config.push(header, ...want, 'exit');
    else block(header, diffLines(have, want));
  }
  const names = [...new Set([...current.interfaces.keys(), ...target.interfaces.keys()])].sort();
  for (const name of names) {
    const have = current.interfaces.get(name) ?? [];
    block(`interface ${name}`, diffLines(have, asPrinted(name, have, target.interfaces.get(name) ?? [], ctx)));
  }
  for (const [header, have, want] of routers) if (want === null && have !== null) config.push(`no ${header}`);
  for (const header of current.routeMaps.keys()) if (!targetKeys.has(routeMapEntryKey(header))) config.push(`no ${header}`);
  config.push(...lists.late);

  const exec: string[] = [];
  const v4 = routerId(target.routerOspf, 'ospf');
  if (v4 !== null && ctx.effectiveRouterId.v4 !== null && ctx.effectiveRouterId.v4 !== v4) exec.push('clear ip ospf process');
  const v6 = routerId(target.routerOspf6, 'ospf6');
  if (v6 !== null && ctx.effectiveRouterId.v6 !== null && ctx.effectiveRouterId.v6 !== v6) exec.push('clear ipv6 ospf6 process');
  return { config, exec };
}

/** The interfaces whose OSPF lines are the driver's: the desired ones and those it managed before. */
export function managedScope(desired: OspfDesired, previouslyManaged: Iterable<string>): Set<string> {
  return new Set([...desired.interfaces.map((i) => i.name), ...previouslyManaged]);
}

/** What the owned part must become: the rendering, plus [] for interfaces no longer desired. */
export function targetConfig(desired: OspfDesired, previouslyManaged: Iterable<string>): OwnedConfig {
  const rendered = renderOwned(desired);
  const interfaces = new Map(rendered.interfaces);
  for (const name of previouslyManaged) if (!interfaces.has(name)) interfaces.set(name, []);
  return { ...rendered, interfaces };
}

/** The whole step: running-config text and desired state → the commands (desired must be valid). */
export function planApply(
  runningText: string,
  desired: OspfDesired,
  previouslyManaged: Iterable<string>,
  ctx: PlanContext = EMPTY_CONTEXT,
): Plan {
  const previous = [...previouslyManaged];
  const current = ownedPart(parseRunningConfig(runningText), managedScope(desired, previous));
  return planChanges(current, targetConfig(desired, previous), ctx);
}

export function isEmptyPlan(p: Plan): boolean {
  return p.config.length === 0 && p.exec.length === 0;
}

const REDACTED = '<redacted>';

/** Shorter keys are left to the syntax patterns: replacing every "ab" in a text would garble it. */
const MIN_LITERAL_SECRET = 4;

/**
 * `text` with OSPF keys replaced by <redacted>: every key in FRR's syntax
 * (MD5 keys, simple passwords, OSPFv3 trailer keys), and every occurrence of
 * the given secrets (of at least 4 characters) wherever FRR might echo them.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(/(message-digest-key\s+\d+\s+md5\s+)\S+/g, `$1${REDACTED}`)
    .replace(/(authentication-key\s+)\S+/g, `$1${REDACTED}`)
    .replace(/(authentication\s+key-id\s+\d+\s+hash-algo\s+\S+\s+key\s+)\S+/g, `$1${REDACTED}`);
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length >= MIN_LITERAL_SECRET) out = out.split(s).join(REDACTED);
  }
  return out;
}
