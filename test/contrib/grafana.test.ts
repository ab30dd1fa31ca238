import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Issue 8: contrib/grafana/wgbgp.json is a Grafana dashboard (JSON model, as
 * "Import dashboard" takes it) built on the metrics docs/metrics.md documents.
 * There is no Grafana where the tests run: what is checked is the model's
 * shape, its layout, and that every query names only documented metrics, read
 * from its datasource variable.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARD = join(ROOT, 'contrib/grafana/wgbgp.json');
const METRICS_DOC = join(ROOT, 'docs/metrics.md');

/** prom-client's default metrics the dashboard may use besides the documented ones. */
const PROCESS_METRICS = ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds'];
/** Metrics the dashboard must show (see the issue). */
const REQUIRED = [
  'wgbgp_bgp_session_state',
  'wgbgp_bgp_prefixes_received',
  'wgbgp_bgp_prefixes_accepted',
  'wgbgp_bgp_prefixes_advertised',
  'wgbgp_tunnel_handshake_age_seconds',
  'wgbgp_fib_lag_seconds',
  'wgbgp_fib_operations_total',
];
const METRIC_NAME = /\b(wgbgp_[a-z_]+|process_[a-z_]+|nodejs_[a-z_]+)\b/g;
const DATASOURCE_UID = '${datasource}';

interface DataSourceRef {
  type?: string;
  uid?: string;
}
interface Target {
  refId?: string;
  expr?: string;
  datasource?: DataSourceRef | string | null;
}
interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Panel {
  id: number;
  type: string;
  title?: string;
  gridPos: GridPos;
  datasource?: DataSourceRef | string | null;
  targets?: Target[];
  collapsed?: boolean;
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: DataSourceRef | string | null;
  multi?: boolean;
  includeAll?: boolean;
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const text = readFileSync(DASHBOARD, 'utf8');
/** Parsed on use, so that a broken file fails the tests below instead of the collection. */
function dashboard(): Dashboard {
  return JSON.parse(text) as Dashboard;
}

/** The backticked `wgbgp_…` names of docs/metrics.md. */
function documentedMetrics(): Set<string> {
  const doc = readFileSync(METRICS_DOC, 'utf8');
  return new Set([...doc.matchAll(/`(wgbgp_[a-z_]+)`/g)].map((m) => m[1]!));
}

/** Every panel, rows' nested panels (collapsed rows) included. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function metricsIn(expr: string): string[] {
  return [...expr.matchAll(METRIC_NAME)].map((m) => m[1]!);
}

function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}

function overlap(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** The layout errors of one grid: out of the 24 columns, or overlapping another panel. */
function layoutErrors(panels: Panel[]): string[] {
  const errors: string[] = [];
  const name = (p: Panel): string => `panel ${p.id} (${p.title ?? p.type})`;
  for (const p of panels) {
    const g = p.gridPos;
    const ints = [g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n));
    if (!ints || g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) errors.push(`${name(p)}: gridPos ${JSON.stringify(g)}`);
  }
  for (let i = 0; i < panels.length; i++) {
    for (let j = i + 1; j < panels.length; j++) {
      if (overlap(panels[i]!.gridPos, panels[j]!.gridPos)) errors.push(`${name(panels[i]!)} overlaps ${name(panels[j]!)}`);
    }
  }
  return errors;
}

function refersToVariable(ds: DataSourceRef | string | null | undefined): boolean {
  if (typeof ds === 'string') return ds === DATASOURCE_UID || ds === '$datasource';
  return ds?.uid === DATASOURCE_UID;
}

describe('contrib/grafana/wgbgp.json', () => {
  it('is JSON with a title, uid, schemaVersion and panels', () => {
    expect(() => dashboard()).not.toThrow();
    const d = dashboard();
    expect(typeof d.title).toBe('string');
    expect(d.title).not.toBe('');
    expect(d.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(Array.isArray(d.panels)).toBe(true);
    expect(d.panels.length).toBeGreaterThan(0);
  });

  it('has the datasource, instance and neighbor variables', () => {
    const vars = new Map(dashboard().templating.list.map((v) => [v.name, v]));
    const ds = vars.get('datasource');
    expect(ds?.type).toBe('datasource');
    expect(ds?.query).toBe('prometheus');

    const instance = vars.get('instance');
    expect(instance?.type).toBe('query');
    expect(variableQuery(instance!).replace(/\s/g, '')).toBe('label_values(wgbgp_info,instance)');
    expect(refersToVariable(instance?.datasource)).toBe(true);

    const neighbor = vars.get('neighbor');
    expect(neighbor?.type).toBe('query');
    expect(variableQuery(neighbor!).replace(/\s/g, '')).toBe('label_values(wgbgp_bgp_session_state{instance=~"$instance"},neighbor)');
    expect(refersToVariable(neighbor?.datasource)).toBe(true);
    expect(neighbor?.multi).toBe(true);
    expect(neighbor?.includeAll).toBe(true);
  });

  it('has unique panel ids', () => {
    const ids = allPanels(dashboard().panels).map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('lays the panels out in 24 columns without overlaps', () => {
    const d = dashboard();
    expect(layoutErrors(d.panels)).toEqual([]);
    // A collapsed row keeps its panels inside it, placed as when expanded.
    for (const row of d.panels.filter((p) => p.type === 'row')) expect(layoutErrors(row.panels ?? [])).toEqual([]);
  });

  it('queries only metrics docs/metrics.md documents, and prom-client process metrics', () => {
    const documented = documentedMetrics();
    expect(documented.size).toBeGreaterThanOrEqual(20);
    const allowed = new Set([...documented, ...PROCESS_METRICS]);
    const exprs = [
      ...allPanels(dashboard().panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
      ...dashboard().templating.list.filter((v) => v.type === 'query').map(variableQuery),
    ];
    const unknown = exprs.flatMap(metricsIn).filter((m) => !allowed.has(m));
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('shows session state, prefixes, handshake age, FIB lag and FIB operations', () => {
    const documented = documentedMetrics();
    const used = new Set(allPanels(dashboard().panels).flatMap((p) => (p.targets ?? []).flatMap((t) => metricsIn(t.expr ?? ''))));
    for (const m of REQUIRED) {
      expect(documented.has(m), `${m} documented`).toBe(true);
      expect(used.has(m), `${m} used`).toBe(true);
    }
  });

  it('gives every panel queries that read from the datasource variable', () => {
    const panels = allPanels(dashboard().panels).filter((p) => p.type !== 'row');
    const bad: string[] = [];
    for (const p of panels) {
      const targets = p.targets ?? [];
      if (targets.length === 0) bad.push(`panel ${p.id}: no targets`);
      if (p.datasource !== undefined && !refersToVariable(p.datasource)) bad.push(`panel ${p.id}: datasource ${JSON.stringify(p.datasource)}`);
      for (const t of targets) {
        if (!refersToVariable(t.datasource)) bad.push(`panel ${p.id} target ${t.refId ?? '?'}: datasource ${JSON.stringify(t.datasource)}`);
        if (typeof t.expr !== 'string' || t.expr.trim() === '') bad.push(`panel ${p.id} target ${t.refId ?? '?'}: no expr`);
      }
    }
    expect(bad).toEqual([]);
  });
});
