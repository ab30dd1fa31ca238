/**
 * Reading a configuration file: YAML, then the schema and the cross-field checks
 * side by side so one pass reports every problem, then the referenced files. The
 * result is all-or-nothing: a Config only when there is no error at all, so a bad
 * reload leaves the running state as it was (design.md).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { ConfigIssue, KeyPath, LoadResult, RawIssue } from './issues.js';
import { byPosition, formatPath } from './issues.js';
import { configSchema, toConfig, zodIssuesToRaw } from './schema.js';
import { crossCheck } from './crosscheck.js';
import { checkPrivateKeyFile } from './files.js';

export interface ParseOptions {
  /** Warnings count as errors (`wgbgp config check --strict`). */
  strict?: boolean;
  /** Look at referenced files (the private key). Default true; tests of pure parsing turn it off. */
  checkFiles?: boolean;
}

interface Position {
  line: number;
  col: number;
}

/** Where a key path sits in the file: the deepest node of the path that exists. */
function locate(doc: Document, path: KeyPath, lc: LineCounter): Position | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) break;
      offset = isScalar(pair.key) ? pair.key.range?.[0] : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (!item) break;
      offset = (isScalar(item) || isMap(item) || isSeq(item) ? item.range?.[0] : undefined) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  if (offset === undefined) return undefined;
  return lc.linePos(offset);
}

function yamlIssue(file: string, e: YAMLError, lc: LineCounter): ConfigIssue {
  const message =
    e.code === 'MULTIPLE_DOCS'
      ? 'the file holds more than one YAML document'
      : e.code === 'DUPLICATE_KEY'
        ? 'duplicate key'
        : e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
  const { line, col } = lc.linePos(e.pos[0]);
  return { file, path: '', message: `YAML: ${message}`, line, col };
}

/** One issue per key path (the first reason is the most basic one), ordered as in the file. */
function finish(file: string, raw: RawIssue[], doc: Document, lc: LineCounter): ConfigIssue[] {
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const r of raw) {
    const path = formatPath(r.path);
    if (seen.has(path)) continue;
    seen.add(path);
    const pos = locate(doc, r.path, lc);
    out.push(pos ? { file, path, message: r.message, line: pos.line, col: pos.col } : { file, path, message: r.message });
  }
  return out.sort(byPosition);
}

function neighborKeys(data: unknown): Map<number, string> {
  const keys = new Map<number, string>();
  const neighbors = (data as { neighbors?: unknown }).neighbors;
  if (!Array.isArray(neighbors)) return keys;
  neighbors.forEach((n: unknown, i) => {
    const k = typeof n === 'object' && n !== null ? (n as Record<string, unknown>)['public-key'] : undefined;
    if (typeof k === 'string') keys.set(i, k);
  });
  return keys;
}

/** The private key file is taken relative to the configuration file (systemd starts the agent in /). */
function privateKeyPath(data: unknown, file: string): string | null {
  const wg = typeof data === 'object' && data !== null ? (data as { wireguard?: unknown }).wireguard : undefined;
  const p = typeof wg === 'object' && wg !== null ? (wg as Record<string, unknown>)['private-key-file'] : undefined;
  return typeof p === 'string' && p !== '' ? resolve(dirname(file), p) : null;
}

export function parseConfig(text: string, file: string, opts: ParseOptions = {}): LoadResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const yamlWarnings = doc.warnings.map((w) => yamlIssue(file, w, lc));
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => yamlIssue(file, e, lc)), warnings: yamlWarnings };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // Unresolved or excessive aliases surface only here.
    const message = `YAML: ${e instanceof Error ? e.message : String(e)}`;
    return { ok: false, errors: [{ file, path: '', message }], warnings: yamlWarnings };
  }
  if (data === null || data === undefined) {
    return { ok: false, errors: [{ file, path: '', message: 'the file holds no configuration' }], warnings: yamlWarnings };
  }

  const parsed = configSchema.safeParse(data, { reportInput: true });
  const errors: RawIssue[] = parsed.success ? [] : zodIssuesToRaw(parsed.error.issues);
  const cross = crossCheck(data);
  errors.push(...cross.errors);
  const warnings: RawIssue[] = [...cross.warnings];
  const keyFile = privateKeyPath(data, file);
  if (keyFile !== null && opts.checkFiles !== false) {
    const files = checkPrivateKeyFile(keyFile, neighborKeys(data));
    errors.push(...files.errors);
    warnings.push(...files.warnings);
  }

  let outErrors = finish(file, errors, doc, lc);
  let outWarnings = [...yamlWarnings, ...finish(file, warnings, doc, lc)];
  if (opts.strict) {
    outErrors = [...outErrors, ...outWarnings].sort(byPosition);
    outWarnings = [];
  }
  if (outErrors.length > 0 || !parsed.success || keyFile === null) {
    return { ok: false, errors: outErrors, warnings: outWarnings };
  }
  return { ok: true, config: toConfig(parsed.data, keyFile), warnings: outWarnings };
}

function readFailure(e: unknown): string {
  const code = typeof e === 'object' && e !== null && 'code' in e ? (e as { code: unknown }).code : undefined;
  if (code === 'ENOENT') return 'cannot read: no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read: permission denied';
  if (code === 'EISDIR') return 'cannot read: is a directory';
  return `cannot read: ${e instanceof Error ? e.message : String(e)}`;
}

export async function loadConfig(path: string, opts: ParseOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { ok: false, errors: [{ file: path, path: '', message: readFailure(e) }], warnings: [] };
  }
  return parseConfig(text, path, opts);
}
