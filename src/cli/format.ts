/**
 * Human output of the query commands. Pure functions of the agent's JSON (and the
 * current time, for ages), so they are tested without a socket. Tables are plain
 * aligned columns without borders: easy to read, grep and paste into a ticket.
 */
import Table from 'cli-table3';
import type { NeighborJson, ReloadJson, RouteJson, StatusJson, TunnelJson } from '#api/types';

const NONE = '-';

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

export function formatStatus(s: StatusJson): string {
  const dp = s.dataplane;
  const lines: [string, string][] = [
    ['version', s.version],
    ['asn', String(s.asn)],
    ['router id', s.routerId],
    ['uptime', formatDuration(s.uptimeSeconds)],
    ['dataplane', `${dp.state} (wireguard ${dp.wireguard}, fib ${dp.fib})`],
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
  const drops = s.bgp.kernelDrops;
  if (drops && drops.ttlSecurity + drops.md5 > 0) {
    lines.push(['kernel drops', `${drops.ttlSecurity} below the GTSM TTL, ${drops.md5} with a missing or wrong TCP MD5 signature`]);
  }
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}\n`).join('');
}

export function formatNeighbors(ns: NeighborJson[], now: Date): string {
  if (ns.length === 0) return 'no neighbors configured\n';
  return table(
    ['NAME', 'INTERFACE', 'PEER', 'ASN', 'STATE', 'SINCE', 'RECEIVED', 'ACCEPTED', 'ADVERTISED', 'LAST ERROR'],
    ns.map((n) => {
      const since = secondsSince(n.stateSince, now);
      return [
        n.name,
        n.interface,
        n.peerAddress ?? NONE,
        String(n.asn),
        n.state,
        since === null ? NONE : formatDuration(since),
        String(n.prefixesReceived),
        String(n.prefixesAccepted),
        String(n.prefixesAdvertised),
        n.lastError ?? NONE,
      ];
    }),
  );
}

/** One line per next hop inside a row, so ECMP routes keep address and interface side by side. */
export function formatRoutes(rs: RouteJson[], query?: string): string {
  if (rs.length === 0) return query === undefined ? 'no routes\n' : `no route matches ${query}\n`;
  return table(
    ['PREFIX', 'SOURCE', 'VIA', 'INTERFACE', 'AS PATH', 'FIB'],
    rs.map((r) => [
      r.prefix,
      r.neighbor ? `${r.source} (${r.neighbor})` : r.source,
      r.nexthops.length === 0 ? NONE : r.nexthops.map((h) => h.address ?? NONE).join('\n'),
      r.nexthops.length === 0 ? NONE : r.nexthops.map((h) => h.interface ?? NONE).join('\n'),
      r.asPath.length === 0 ? NONE : r.asPath.join(' '),
      r.fib ? '✓' : '✗',
    ]),
  ) + rs.filter((r) => r.fibDetail !== null).map((r) => `${r.prefix}: ${r.fibDetail}\n`).join('');
}

export function formatTunnels(ts: TunnelJson[], now: Date): string {
  if (ts.length === 0) return 'no tunnels\n';
  return table(
    ['NAME', 'INTERFACE', 'DATAPLANE IF', 'ENDPOINT', 'LATEST HANDSHAKE', 'UP'],
    ts.map((t) => [
      t.name,
      t.interface,
      t.dataplaneInterface,
      t.endpoint ?? '(unknown)',
      formatAge(t.latestHandshake, now),
      t.up ? '✓' : '✗',
    ]),
  );
}

export function formatReload(r: ReloadJson): string {
  if (!r.ok) return `reload rejected; the running configuration is unchanged\n${r.errors.map((e) => `${e}\n`).join('')}`;
  const parts: string[] = [];
  if (r.added.length > 0) parts.push(`added ${r.added.join(', ')}`);
  if (r.removed.length > 0) parts.push(`removed ${r.removed.join(', ')}`);
  if (r.changed.length > 0) parts.push(`changed ${r.changed.join(', ')}`);
  return parts.length === 0 ? 'reloaded: no changes\n' : `reloaded: ${parts.join('; ')}\n`;
}
