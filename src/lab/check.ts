import { LabError } from './errors.js';

/**
 * Readers for parsed YAML that name the file and key path in every error
 * ("topology.clab.yml: topology.nodes.a.kind: …"), so a bad lab file reads like
 * `wgbgp config check` output.
 */
export type Path = readonly (string | number)[];

export function keyPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

export class Reader {
  constructor(readonly file: string) {}

  fail(path: Path, reason: string): never {
    throw new LabError(`${this.file}: ${keyPath(path)}: ${reason}`);
  }

  map(v: unknown, path: Path): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'expected a mapping');
    return v as Record<string, unknown>;
  }

  /** A mapping whose keys must all be in `allowed`. */
  strictMap(v: unknown, path: Path, allowed: readonly string[], what = 'key'): Record<string, unknown> {
    const m = this.map(v, path);
    for (const k of Object.keys(m)) {
      if (!allowed.includes(k)) this.fail([...path, k], `unknown ${what} (supported: ${allowed.join(', ')})`);
    }
    return m;
  }

  list(v: unknown, path: Path): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'expected a list');
    return v;
  }

  string(v: unknown, path: Path): string {
    if (typeof v !== 'string' || v === '') this.fail(path, 'expected a non-empty string');
    return v;
  }

  /** Strings, numbers and booleans as text (env values, sysctl values). */
  scalarText(v: unknown, path: Path): string {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.fail(path, 'expected a string, number or boolean');
  }

  positiveNumber(v: unknown, path: Path): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(path, 'expected a positive number');
    return v;
  }

  optString(v: unknown, path: Path): string | undefined {
    return v === undefined || v === null ? undefined : this.string(v, path);
  }

  stringList(v: unknown, path: Path): string[] {
    return this.list(v, path).map((x, i) => this.string(x, [...path, i]));
  }

  stringMap(v: unknown, path: Path): Record<string, string> {
    const m = this.map(v, path);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(m)) out[k] = this.scalarText(x, [...path, k]);
    return out;
  }
}
