/**
 * Human output of the query commands. Pure functions of the agent's JSON (and the
 * current time, for ages), so they are tested without a socket. Tables are plain
 * aligned columns without borders: easy to read, grep and paste into a ticket.
 */
import Table from 'cli-table3';
import type {
  DecisionJson,
  ExportPacingJson,
  LogLevelsJson,
  MaxPrefixJson,
  NeighborActionJson,
  NeighborBfdJson,
  NeighborJson,
  OspfNeighborJson,
  OspfRouteJson,
  PathJson,
  ReloadJson,
  ReloadDryRunJson,
  RouteJson,
  StatusJson,
  TunnelJson,
  WatchEvent,
  NeighborRefreshJson,
  RefreshStatusName,
  RouteRefreshJson,
} from '#api/types';

const NONE = '-';

/**
 * Colour for a terminal only (the CLI decides: stdout is a TTY, NO_COLOR unset,
 * TERM not dumb); everything else gets plain text, so pipes, files and
 * snapshots never see escape codes.
 */
export interface FormatOptions {
  color?: boolean;
}

const SGR = { green: 32, red: 31, yellow: 33, bold: 1, dim: 2 } as const;
type Paint = (text: string, c: keyof typeof SGR) => string;

function painter(o: FormatOptions | undefined): Paint {
  return o?.color ? (t, c) => `\u001b[${SGR[c]}m${t}\u001b[0m` : (t) => t;
}

/** Established green, a session on its way up yellow, Idle red. */
function paintState(state: string, paint: Paint): string {
  if (state === 'Established') return paint(state, 'green');
  if (state === 'Idle') return paint(state, 'red');
  return paint(state, 'yellow');
}

function mark(ok: boolean, paint: Paint): string {
  return ok ? paint('✓', 'green') : paint('✗', 'red');
}

const PLAIN_CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

export function table(head: string[], rows: string[][]): string {
  const t = new Table({
    head,
    chars: PLAIN_CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  t.push(...rows);
  return `${t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')}\n`;
}

/** Compact elapsed time: "45s", "5m12s", "3h12m", "2d3h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function secondsSince(iso: string | null, now: Date): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : (now.getTime() - t) / 1000;
}

/** "12s ago", or "never" for a handshake that has not happened (or that the dataplane cannot date). */
export function formatAge(iso: string | null, now: Date): string {
  const s = secondsSince(iso, now);
  return s === null ? 'never' : `${formatDuration(s)} ago`;
}

/** 171.1 MB, 512 kB: decimal units, one decimal. */
function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

export function formatStatus(s: StatusJson, o?: FormatOptions): string {
  const paint = painter(o);
  const dp = s.dataplane;
  const lines: [string, string][] = [
    ['version', s.version],
    ['asn', String(s.asn)],
    ['router id', s.routerId],
    ['uptime', formatDuration(s.uptimeSeconds)],
    ['dataplane', `${paint(dp.state, dp.state === 'ok' ? 'green' : dp.state === 'down' ? 'red' : 'yellow')} (wireguard ${dp.wireguard}, fib ${dp.fib})`],
  ];
  if (dp.detail) lines.push(['detail', dp.detail]);
  if (dp.vppVersion) lines.push(['vpp', dp.vppVersion]);
  lines.push(
    ['neighbors', `${s.neighbors.established} of ${s.neighbors.total} established`],
    ['routes', `${s.routes.rib} in RIB, ${s.routes.fib} in FIB`],
  );
  const refused = s.bgp.refused;
  if (refused.total > 0) {
    lines.push(['bgp refused', `${refused.total} connection(s) not through a neighbor's tunnel or not from it, last from ${refused.lastSource ?? '?'}`]);
  }
  const ospf = s.ospf;
  if (ospf) {
    const fpm = ospf.fpm.connected ? `zebra connected, ${ospf.fpm.routes} OSPF route(s)` : 'zebra not connected';
    const frr = ospf.frrVersion ? `FRR ${ospf.frrVersion}` : 'FRR unavailable';
    lines.push(['ospf', `${paint(ospf.state, ospf.state === 'ok' ? 'green' : ospf.state === 'down' ? 'red' : 'yellow')} (${frr}, ${fpm}; ${ospf.interfaces.length} interface(s))`]);
    if (ospf.detail) lines.push(['ospf detail', ospf.detail]);
  }
  const mem = s.memory;
  if (mem) {
    const own = mem.private === null ? '' : `, ${formatBytes(mem.private)} of it the agent's own`;
    lines.push(['memory', `${formatBytes(mem.resident)} resident${own} (heap ${formatBytes(mem.heap)}, tables ${formatBytes(mem.tables)}); ${mem.attributeSets} attribute set(s)`]);
  }
  const drops = s.bgp.kernelDrops;
  if (drops && drops.ttlSecurity + drops.md5 > 0) {
    lines.push(['kernel drops', `${drops.ttlSecurity} below the GTSM TTL, ${drops.md5} with a missing or wrong TCP MD5 signature`]);
  }
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}\n`).join('');
}

export function formatNeighbors(ns: NeighborJson[], now: Date, o?: FormatOptions): string {
  const paint = painter(o);
  if (ns.length === 0) return 'no neighbors configured\n';
  // The BFD column only where some neighbor runs BFD.
  const bfd = ns.some((n) => n.bfd);
  return table(
    ['NAME', 'INTERFACE', 'PEER', 'ASN', 'STATE', 'SINCE', ...(bfd ? ['BFD'] : []), 'RECEIVED', 'ACCEPTED', 'ADVERTISED', 'LAST ERROR'],
    ns.map((n) => {
      const since = secondsSince(n.stateSince, now);
      return [
        n.name,
        n.interface,
        n.peerAddress ?? NONE,
        String(n.asn),
        `${paintState(n.state, paint)}${stateNote(n)}`,
        since === null ? NONE : formatDuration(since),
        ...(bfd ? [bfdCell(n.bfd?.state ?? null, paint)] : []),
        String(n.prefixesReceived),
        String(n.prefixesAccepted),
        String(n.prefixesAdvertised),
        lastErrorCell(n),
      ];
    }),
  );
}

/** A BFD state: Up green, Down and AdminDown red, Init yellow; off: "-". */
function bfdCell(state: NeighborBfdJson['state'] | null, paint: Paint): string {
  if (state === null) return NONE;
  if (state === 'Up') return paint('Up', 'green');
  return paint(state, state === 'Init' ? 'yellow' : 'red');
}

/** The detail view's BFD line: state, negotiated timers, discriminators, the last reason it went down. */
function bfdLine(b: NeighborBfdJson, now: Date, paint: Paint): string {
  const parts = [`${bfdCell(b.state, paint)}${b.since === null ? '' : ` ${formatAge(b.since, now)}`} (peer ${b.remoteState})`];
  if (b.txIntervalMs !== null) parts.push(`tx ${b.txIntervalMs} ms`);
  if (b.detectionTimeMs !== null) parts.push(`detection ${b.detectionTimeMs} ms`);
  parts.push(`discriminators ${b.localDiscriminator ?? NONE}/${b.remoteDiscriminator ?? NONE}`);
  if (b.lastDownReason !== null) parts.push(`last down: ${b.lastDownReason}`);
  if (b.error !== null) parts.push(paint(b.error, 'red'));
  return parts.join(', ');
}

/** Why a session is not what it would be: shut down by the operator, or over a max-prefix limit. */
function stateNote(n: NeighborJson): string {
  if (n.adminShutdown) return ' (shutdown)';
  if (n.maxPrefix?.exceeded) return ' (max-prefix)';
  return '';
}

/** "ipv4 1000 (1204 accepted), ipv6 none; warning only" and what was exceeded. */
function maxPrefixLine(m: MaxPrefixJson, now: Date): string {
  const family = (name: string, f: MaxPrefixJson['ipv4']): string => `${name} ${f === null ? 'none' : `${f.limit} (${f.accepted} accepted)`}`;
  const action = m.action === 'restart' ? `restart after ${m.restartAfter ?? 0} min` : 'warning only';
  const e = m.exceeded;
  const over = e === null ? '' : `; ${e.family} limit ${e.limit} exceeded ${formatAge(e.since, now)} (${e.accepted} accepted)`;
  const restart = m.restartAt === null ? '' : `; session down, restarts at ${m.restartAt.slice(11, 19)} UTC`;
  return `${family('ipv4', m.ipv4)}, ${family('ipv6', m.ipv6)}; ${action}${over}${restart}`;
}

/**
 * The last error, and while the session is down the peer's shutdown
 * communication (RFC 9003) under it: its retries soon replace lastError
 * with TCP errors, and the peer's reason is what the operator wants to read.
 */
function lastErrorCell(n: NeighborJson): string {
  const last = n.lastNotification;
  const comm = last && last.direction === 'received' && n.state !== 'Established' ? last.communication : null;
  if (comm === null || n.lastError?.includes(`"${comm}"`)) return n.lastError ?? NONE;
  return `${n.lastError ?? NONE}\npeer said: "${comm}"`;
}

/** The detail view's route refresh line: requests each way, the last of each, what is under way. */
function refreshLine(r: RouteRefreshJson, now: Date): string {
  const when = (at: string | null): string => (at === null ? '' : ` (last ${formatAge(at, now)})`);
  const parts = [`${r.sent} requested${when(r.lastSent)}`, `${r.received} received${when(r.lastReceived)}, ${r.answered} answered`];
  if (r.resending.length > 0) parts.push(`sending ${r.resending.join(' ')} again`);
  if (r.awaitingEorr.length > 0) parts.push(`peer resending ${r.awaitingEorr.join(' ')}`);
  if (r.eorrTimeouts > 0) parts.push(`${r.eorrTimeouts} EoRR timeout(s)`);
  return parts.join('; ');
}

/** `wgbgp neighbor NAME refresh [--in|--out]`. */
/** Octets waiting in the socket; behind: prefixes owed instead of UPDATEs queued (RFC 4271 §9.2). */
function sendQueueLine(q: ExportPacingJson): string {
  const waiting = q.octets >= 1e6 ? `${(q.octets / 1e6).toFixed(1)} MB` : q.octets >= 1e3 ? `${(q.octets / 1e3).toFixed(1)} kB` : `${q.octets} octets`;
  const behind = q.behind ? `; reads slower than the changes come: ${q.owedPrefixes} prefixes owed, sent as they are once it drains` : '';
  return `${waiting} waiting${behind}; behind ${q.timesBehind} time(s)`;
}

export function formatNeighborRefresh(r: NeighborRefreshJson): string {
  const say = (dir: 'in' | 'out', s: RefreshStatusName | null): string | null => {
    if (s === null) return null;
    const what = dir === 'in' ? 'asked the peer to send its routes again (ROUTE-REFRESH)' : 'sending our routes to the peer again';
    if (s === 'sent') return `${r.name}: ${what}\n`;
    if (s === 'not-established') return `${r.name}: ${dir}: not done, the session is not established\n`;
    return `${r.name}: ${dir}: not done, the peer did not advertise route refresh (RFC 2918)\n`;
  };
  return [say('in', r.in), say('out', r.out)].filter((l): l is string => l !== null).join('');
}

/** `wgbgp neighbor NAME shutdown|enable|reset`. */
export function formatNeighborAction(r: NeighborActionJson, message?: string): string {
  const said = message ? ` with "${message}"` : '';
  switch (r.action) {
    case 'shutdown':
      return r.changed
        ? `${r.name}: shut down (Cease/Administrative Shutdown sent${said}); stays down until \`wgbgp neighbor ${r.name} enable\`\n`
        : `${r.name}: already shut down\n`;
    case 'enable':
      return r.changed ? `${r.name}: enabled; the session starts again (${r.state})\n` : `${r.name}: was not shut down (${r.state})\n`;
    case 'reset':
      return `${r.name}: reset (Cease/Administrative Reset sent${said}); the session comes back by itself\n`;
  }
}

/** One line per next hop inside a row, so ECMP routes keep address and interface side by side. */
export function formatRoutes(rs: RouteJson[], query?: string, o?: FormatOptions): string {
  const paint = painter(o);
  if (rs.length === 0) return query === undefined ? 'no routes\n' : `no route matches ${query}\n`;
  return table(
    ['PREFIX', 'SOURCE', 'VIA', 'INTERFACE', 'AS PATH', 'FIB'],
    rs.map((r) => [
      r.prefix,
      r.neighbor ? `${r.source} (${r.neighbor})` : r.source,
      r.nexthops.length === 0 ? NONE : r.nexthops.map((h) => h.address ?? NONE).join('\n'),
      r.nexthops.length === 0 ? NONE : r.nexthops.map((h) => h.interface ?? NONE).join('\n'),
      r.asPath.length === 0 ? NONE : r.asPath.join(' '),
      mark(r.fib, paint),
    ]),
  ) + rs.filter((r) => r.fibDetail !== null).map((r) => `${r.prefix}: ${r.fibDetail}\n`).join('') + rs.map(formatPaths).join('');
}

/** `routes PREFIX`: every path under the table, the best marked `*`, and the step that chose it (RFC 4271 §9.1.2.2). */
function formatPaths(r: RouteJson): string {
  if (r.paths === undefined) return '';
  const best = r.paths.find((p) => p.best);
  const n = r.paths.length;
  let head = `${r.prefix}: ${n} path${n === 1 ? '' : 's'}`;
  if (best !== undefined && r.decision) head += `; best ${decisionText(pathName(best), r.decision)}`;
  else if (n > 0) head += '; none eligible';
  const used = r.paths.filter((p) => p.multipath === true);
  if (used.length > 1) head += `; multipath over ${used.length}: ${used.map(pathName).join(', ')}`;
  return `\n${head}\n${r.paths.map(pathLines).join('')}`;
}

function pathName(p: PathJson): string {
  return p.neighbor?.name ?? p.source;
}

function decisionText(best: string, d: DecisionJson): string {
  const against = d.against ? (d.against.neighbor ?? d.against.source) : null;
  if (d.step === 'only-path' || against === null) return `from ${best} (the only path)`;
  if (d.step === 'equal') return `from ${best} (equal to ${against} at every step; kept)`;
  return `from ${best}, by ${d.step} over ${against}`;
}

function pathLines(p: PathJson): string {
  const who = p.neighbor ? `${p.neighbor.name}  ${p.neighbor.address}  AS ${p.neighbor.asn}${p.pathId !== undefined ? `  path id ${p.pathId}` : ''}` : `${p.source} (local)`;
  const judged =
    (p.best ? 'best' : p.eligible ? 'eligible' : `not eligible: ${p.ineligibleReason ?? 'unknown'}${p.rejectedBy !== undefined ? ` (${p.rejectedBy})` : ''}`) +
    (p.multipath === true ? ', multipath' : '');
  const state = p.stale === 'long-lived' ? `${judged}, long-lived stale` : p.stale === 'graceful-restart' ? `${judged}, stale` : judged;
  const attrs = [
    `origin ${p.origin ?? NONE}`,
    `as-path ${p.asPath.length === 0 ? NONE : p.asPath.join(' ')}${p.asPath.length === p.asPathLength ? '' : ` (length ${p.asPathLength})`}`,
    `next hop ${p.nexthops.length === 0 ? NONE : p.nexthops.join(' ')}`,
  ];
  if (p.localPref !== null) attrs.push(`local-pref ${p.localPref}`);
  if (p.med !== null) attrs.push(`med ${p.med}`);
  if (p.otc !== null) attrs.push(`otc ${p.otc}`);
  const sets: [string, string[]][] = [
    ['communities', p.communities],
    ['extended communities', p.extendedCommunities],
    ['large communities', p.largeCommunities],
  ];
  const communities = sets.filter(([, cs]) => cs.length > 0).map(([k, cs]) => `${k} ${cs.join(' ')}`);
  // `*` the best, `=` another path forwarding with it (multipath), as FRR marks them.
  return `${p.best ? '*' : p.multipath === true ? '=' : ' '} ${who}  ${state}\n    ${attrs.join(', ')}\n${communities.map((c) => `    ${c}\n`).join('')}`;
}

export function formatTunnels(ts: TunnelJson[], now: Date, o?: FormatOptions): string {
  const paint = painter(o);
  if (ts.length === 0) return 'no tunnels\n';
  // ALIVE (handshake age) from agents that report it; BFD where some neighbor runs it.
  const alive = ts.some((t) => t.alive !== undefined);
  const bfd = ts.some((t) => t.bfd);
  return (
    table(
      ['NAME', 'INTERFACE', 'DATAPLANE IF', 'ENDPOINT', 'LATEST HANDSHAKE', 'UP', ...(alive ? ['ALIVE'] : []), ...(bfd ? ['BFD'] : [])],
      ts.map((t) => [
        t.name,
        t.interface,
        t.dataplaneInterface,
        t.endpoint ?? (t.endpointName ? `(${t.endpointName} unresolved)` : '(unknown)'),
        formatAge(t.latestHandshake, now),
        mark(t.up, paint),
        ...(alive ? [t.alive === null || t.alive === undefined ? NONE : mark(t.alive, paint)] : []),
        ...(bfd ? [bfdCell(t.bfd ?? null, paint)] : []),
      ]),
    ) +
    ts.filter((t) => t.endpointName).map(endpointNameLine).join('') +
    ts.filter((t) => t.alive === false && t.aliveReason).map((t) => `${t.name}: not alive: ${t.aliveReason ?? ''}\n`).join('')
  );
}

/** A DNS-named endpoint: the name under the table, and why it does not resolve when it does not. */
function endpointNameLine(t: TunnelJson): string {
  const error = t.endpointError ? `, does not resolve: ${t.endpointError}` : '';
  return `${t.name}: endpoint ${t.endpointName ?? ''}${error}\n`;
}

export function formatReload(r: ReloadJson): string {
  if (!r.ok) return `reload rejected; the running configuration is unchanged\n${r.errors.map((e) => `${e}\n`).join('')}`;
  const parts: string[] = [];
  if (r.added.length > 0) parts.push(`added ${r.added.join(', ')}`);
  if (r.removed.length > 0) parts.push(`removed ${r.removed.join(', ')}`);
  if (r.changed.length > 0) parts.push(`changed ${r.changed.join(', ')}`);
  if ((r.ospf ?? []).length > 0) parts.push(`OSPF settings of ${(r.ospf ?? []).join(', ')} applied (tunnels and sessions untouched)`);
  if ((r.tunnels ?? []).length > 0) parts.push(`tunnel settings of ${(r.tunnels ?? []).join(', ')} applied in place (sessions kept)`);
  if ((r.policies ?? []).length > 0) parts.push(`policies of ${(r.policies ?? []).join(', ')} applied (sessions kept)`);
  return parts.length === 0 ? 'reloaded: no changes\n' : `reloaded: ${parts.join('; ')}\n`;
}

/** `reload --dry-run`: the neighbors a reload would touch, then per established neighbor what its policies would do. */
export function formatReloadDryRun(r: ReloadDryRunJson): string {
  if (!r.ok) return `a reload would be rejected; nothing changed\n${r.errors.map((e) => `${e}\n`).join('')}`;
  let out = 'dry run: nothing was applied\n';
  if (r.added.length > 0) out += `would add ${r.added.join(', ')}\n`;
  if (r.removed.length > 0) out += `would remove ${r.removed.join(', ')}\n`;
  if (r.changed.length > 0) out += `would rebuild ${r.changed.join(', ')} (tunnel and session start again)\n`;
  for (const n of r.neighbors) {
    const i = n.import;
    const e = n.export;
    const how = i.exact ? '' : ' (judged on the paths as the current policy changed them: no soft-reconfiguration-inbound)';
    out += `${n.name}:\n`;
    out += `  import ${i.changed ? 'changed' : 'unchanged'}: would accept ${i.accept}, reject ${i.reject} (accepted now ${i.acceptedNow})${how}\n`;
    out += `  export ${e.changed ? 'changed' : 'unchanged'}: would send ${e.total} (${e.send} new), stop sending ${e.stop} (advertised now ${e.advertisedNow})\n`;
  }
  return out;
}

function keyValues(lines: [string, string][]): string {
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}\n`).join('');
}

/** `wgbgp neighbors NAME`: one neighbor in full, like `birdc show protocols all NAME`. */
export function formatNeighborDetail(n: NeighborJson, now: Date, o?: FormatOptions): string {
  const paint = painter(o);
  const since = secondsSince(n.stateSince, now);
  const t = n.timers;
  const lines: [string, string][] = [
    ['neighbor', `${n.name} (AS ${n.asn})`],
    ['interface', n.interface],
    ['peer', n.peerAddress ?? NONE],
    ['state', `${paintState(n.state, paint)}${since === null ? '' : ` for ${formatDuration(since)}`}`],
    ['up/down', `${n.established} time(s) established, ${n.flaps} flap(s)`],
    [
      'hold time',
      `${t.holdTime} s configured, keepalive ${t.keepalive} s${t.negotiatedHoldTime === null ? '' : `; negotiated ${t.negotiatedHoldTime} s, keepalive ${t.negotiatedKeepalive ?? 0} s`}`,
    ],
  ];
  const s = n.session;
  if (s !== null) {
    lines.push(
      ['session', `${s.localAddress} -> ${s.remoteAddress}, peer router id ${s.peerRouterId}`],
      ['families', s.families.join(', ') || NONE],
    );
    const refresh = s.routeRefresh ? (s.enhancedRouteRefresh === true ? 'route refresh (enhanced, RFC 7313)' : 'route refresh') : null;
    const caps = [s.fourOctetAs ? '4-octet AS' : null, refresh, s.extendedNextHop ? 'extended next hop (RFC 8950)' : null].filter(
      (c): c is string => c !== null,
    );
    const gr = s.gracefulRestart;
    if (gr !== null) {
      const kept = gr.families.filter((f) => f.forwardingState).map((f) => f.family);
      caps.push(`graceful restart (${gr.restartTime} s${gr.restarting ? ', restarting' : ''}${kept.length > 0 ? `, forwarding kept: ${kept.join(' ')}` : ''})`);
    }
    const llgr = s.longLivedGracefulRestart;
    if (llgr) caps.push(`long-lived graceful restart (${llgr.families.map((f) => `${f.family} ${f.staleTime} s${f.forwardingState ? ' F' : ''}`).join(', ') || 'no family'})`);
    lines.push(['capabilities', caps.join(', ') || NONE]);
    if (s.roles) lines.push(['role', `${s.roles.local} (RFC 9234), peer ${s.roles.peer ?? 'sent none'}`]);
    if (s.addPath) lines.push(['add-path', `receive ${s.addPath.receive.join(' ') || NONE}; send ${s.addPath.send.join(' ') || NONE} (RFC 7911)`]);
  }
  const stale = n.staleRoutes;
  if (stale) {
    const ll = stale.longLived.map((f) => `${f.family} ${f.routes} long-lived stale, ${f.secondsLeft} s left`);
    lines.push(['stale routes', `${stale.routes}${ll.length > 0 ? ` (${ll.join('; ')})` : ' (graceful restart)'}`]);
  }
  lines.push(
    ['prefixes', `${n.prefixesReceived} received, ${n.prefixesAccepted} accepted, ${n.prefixesAdvertised} advertised`],
    ['updates', `${n.updatesReceived} received, ${n.updatesSent} sent`],
    ['messages', `${n.messagesReceived} received, ${n.messagesSent} sent`],
    ['last error', n.lastError === null ? NONE : `${paint(n.lastError, 'red')}${n.lastErrorAt === null ? '' : ` (${formatAge(n.lastErrorAt, now)})`}`],
  );
  const shut = n.adminShutdown;
  if (shut) lines.push(['admin', `${paint('shut down', 'red')} ${formatAge(shut.since, now)}${shut.message === null ? '' : `, message "${shut.message}"`}`]);
  const last = n.lastNotification;
  if (last) lines.push(['notification', `${last.direction} ${last.text} (${formatAge(last.at, now)})`]);
  const rr = n.routeRefresh;
  if (rr) lines.push(['route refresh', refreshLine(rr, now)]);
  const q = n.sendQueue;
  if (q && (q.octets > 0 || q.behind || q.timesBehind > 0)) lines.push(['send queue', sendQueueLine(q)]);
  if (n.bfd) lines.push(['bfd', bfdLine(n.bfd, now, paint)]);
  if (n.maxPrefix) lines.push(['max-prefix', n.maxPrefix.exceeded ? paint(maxPrefixLine(n.maxPrefix, now), 'yellow') : maxPrefixLine(n.maxPrefix, now)]);
  const pol = n.policy;
  if (pol && (pol.import.length > 0 || pol.export.length > 0 || pol.note !== null)) {
    const chain = (names: string[]): string => (names.length === 0 ? NONE : names.join(' > '));
    const soft = pol.softReconfigurationInbound ? ', soft reconfiguration inbound' : '';
    lines.push(['policy', `import ${chain(pol.import)}, export ${chain(pol.export)}${soft}`]);
    if (pol.note !== null) lines.push(['', paint(pol.note, 'yellow')]);
  }
  return keyValues(lines);
}

/** `wgbgp watch`: one line per event, local time first. */
export function formatEvent(e: WatchEvent, o?: FormatOptions): string {
  const paint = painter(o);
  const time = paint(e.time.slice(11, 19), 'dim');
  switch (e.type) {
    case 'session':
      return `${time} session  ${e.neighbor}: ${e.from} -> ${paintState(e.to, paint)}${e.to !== 'Established' && e.lastError ? ` (${e.lastError})` : ''}\n`;
    case 'routes':
      return `${time} routes   ${e.rib} in RIB, ${e.fib} in FIB${e.pending > 0 ? `, ${e.pending} pending` : ''}\n`;
    case 'handshake':
      return `${time} tunnel   ${e.neighbor}: handshake on ${e.interface}${e.endpoint ? ` from ${e.endpoint}` : ''}\n`;
    case 'dataplane':
      return `${time} dataplane ${e.state}${e.detail ? `: ${e.detail}` : ''}\n`;
    case 'reload':
      return `${time} reload   ${e.ok ? formatReload({ ...e }).trimEnd() : `rejected: ${e.errors.join('; ')}`}\n`;
    case 'log-level':
      return `${time} log      ${e.component} at ${e.level}\n`;
    case 'bfd':
      return `${time} bfd      ${e.neighbor}: ${e.from} -> ${bfdCell(e.to, paint)}${e.to === 'Up' ? '' : ` (${e.reason}${e.remoteState === 'AdminDown' ? ', peer AdminDown' : ''})`}\n`;
    default:
      return `${time} ${JSON.stringify(e)}\n`;
  }
}

export function formatLogLevels(r: LogLevelsJson): string {
  return keyValues(Object.entries(r.levels));
}

/** `wgbgp ospf neighbors`: one line per adjacency, both families. */
export function formatOspfNeighbors(ns: OspfNeighborJson[], o?: FormatOptions): string {
  const paint = painter(o);
  if (ns.length === 0) return 'no OSPF neighbors\n';
  return table(
    ['FAMILY', 'ROUTER ID', 'STATE', 'INTERFACE', 'NEIGHBOR', 'ADDRESS', 'UP', 'DEAD IN'],
    ns.map((n) => [
      n.family,
      n.routerId,
      n.state === 'Full' ? paint(n.state, 'green') : paint(n.state, 'yellow'),
      n.interface,
      n.neighbor ?? NONE,
      n.address ?? NONE,
      n.uptimeMs === null ? NONE : formatDuration(n.uptimeMs / 1000),
      n.deadTimeMs === null ? NONE : `${(n.deadTimeMs / 1000).toFixed(1)}s`,
    ]),
  );
}

const OSPF_ROUTE_TYPE = { intra: 'intra-area', inter: 'inter-area', external1: 'external 1', external2: 'external 2' } as const;

/** `wgbgp ospf routes`: OSPF's own table (what it computed, before zebra and the agent choose). */
export function formatOspfRoutes(rs: OspfRouteJson[]): string {
  if (rs.length === 0) return 'no OSPF routes\n';
  return table(
    ['PREFIX', 'TYPE', 'COST', 'AREA', 'VIA', 'INTERFACE', 'TAG'],
    rs.map((r) => [
      r.prefix,
      OSPF_ROUTE_TYPE[r.type],
      r.type2Cost === null ? String(r.cost) : `${r.cost}/${r.type2Cost}`,
      r.area ?? NONE,
      r.nexthops.length === 0 ? NONE : r.nexthops.map((h) => h.address ?? 'attached').join('\n'),
      r.nexthops.length === 0 ? NONE : r.nexthops.map((h) => h.interface ?? NONE).join('\n'),
      r.tag === null ? NONE : String(r.tag),
    ]),
  );
}
