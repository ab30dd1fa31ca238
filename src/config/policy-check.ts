/**
 * Names that policies and chains refer to must exist (docs/configuration.md,
 * "Policy"). Run on the raw YAML beside the schema, like crosscheck.ts, so
 * every unknown name is reported with its key path in one `config check`.
 */
import type { KeyPath, RawIssue } from './issues.js';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}

/** A name or a list of names (the schema reports other shapes), each with the path it was found at. */
function namesAt(v: unknown, path: KeyPath): { name: string; path: KeyPath }[] {
  if (typeof v === 'string') return [{ name: v, path }];
  if (!Array.isArray(v)) return [];
  const out: { name: string; path: KeyPath }[] = [];
  v.forEach((x, i) => {
    if (typeof x === 'string') out.push({ name: x, path: [...path, i] });
  });
  return out;
}

/** Which definitions each match key names. */
const MATCH_REFERENCES: Readonly<Record<string, 'prefix-lists' | 'as-path-lists' | 'community-lists' | 'as-sets'>> = {
  'prefix-list': 'prefix-lists',
  'next-hop': 'prefix-lists',
  'as-path': 'as-path-lists',
  community: 'community-lists',
  'as-path-contains': 'as-sets',
  'origin-as': 'as-sets',
};

export function checkPolicyReferences(root: Obj, errors: RawIssue[], warnings: RawIssue[]): void {
  const policy = obj(root.policy) ?? {};
  const defined = (kind: string): Set<string> => new Set(Object.keys(obj(policy[kind]) ?? {}));
  const kinds = new Map(['prefix-lists', 'as-path-lists', 'community-lists', 'as-sets', 'policies'].map((k) => [k, defined(k)]));
  const neighborNames = new Set<string>();
  const neighbors = Array.isArray(root.neighbors) ? root.neighbors : [];
  neighbors.forEach((n) => {
    const name = obj(n)?.name;
    if (typeof name === 'string') neighborNames.add(name);
  });

  for (const [pname, p] of Object.entries(obj(policy.policies) ?? {})) {
    const terms = obj(p)?.terms;
    if (!Array.isArray(terms)) continue;
    terms.forEach((t, i) => {
      const match = obj(obj(t)?.match);
      if (!match) return;
      const base: KeyPath = ['policy', 'policies', pname, 'terms', i, 'match'];
      for (const [key, kind] of Object.entries(MATCH_REFERENCES)) {
        for (const r of namesAt(match[key], [...base, key])) {
          if (!kinds.get(kind)!.has(r.name)) errors.push({ path: r.path, message: `unknown ${kind.slice(0, -1)} ${JSON.stringify(r.name)} (not in policy.${kind})` });
        }
      }
      for (const r of namesAt(match.neighbor, [...base, 'neighbor'])) {
        if (!neighborNames.has(r.name)) warnings.push({ path: r.path, message: `no neighbor is named ${JSON.stringify(r.name)}: the term never matches` });
      }
    });
  }

  const policies = kinds.get('policies')!;
  // On import every route is a BGP route: a term wanting another source never matches there.
  const importing = new Set<string>();
  neighbors.forEach((n) => {
    for (const r of namesAt(obj(obj(n)?.bgp)?.import, [])) importing.add(r.name);
  });
  for (const pname of importing) {
    const terms = obj(obj(policy.policies)?.[pname])?.terms;
    if (!Array.isArray(terms)) continue;
    terms.forEach((t, i) => {
      const source = obj(obj(t)?.match)?.source;
      const sources = typeof source === 'string' ? [source] : Array.isArray(source) ? source : null;
      if (sources !== null && !sources.includes('bgp')) {
        warnings.push({ path: ['policy', 'policies', pname, 'terms', i, 'match', 'source'], message: 'an import policy sees BGP routes only: this term never matches there (source is for export)' });
      }
    });
  }
  neighbors.forEach((n, i) => {
    const bgp = obj(obj(n)?.bgp);
    if (!bgp) return;
    for (const dir of ['import', 'export']) {
      for (const r of namesAt(bgp[dir], ['neighbors', i, 'bgp', dir])) {
        if (!policies.has(r.name)) errors.push({ path: r.path, message: `unknown policy ${JSON.stringify(r.name)} (not in policy.policies)` });
      }
    }
  });
}
