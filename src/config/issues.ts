/**
 * How configuration problems are reported: the file, the key path as the operator
 * wrote it (kebab-case, "neighbors[0].tunnel.local[1]") and the reason, one per line.
 */
import type { Config } from './types.js';

export interface ConfigIssue {
  file: string;
  /** Key path in YAML spelling, "" for the file as a whole. */
  path: string;
  message: string;
  /** 1-based position in the file when known (always for YAML syntax errors). */
  line?: number;
  col?: number;
}

export type LoadResult =
  | { ok: true; config: Config; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

export type KeyPath = readonly (string | number)[];

/** An issue before it is tied to a file: the checks produce these. */
export interface RawIssue {
  path: KeyPath;
  message: string;
}

/** File order: what the operator reads top to bottom in the YAML. Unplaced issues go first. */
export function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);
}

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/**
 * "file:line:col: path: reason", like a compiler's messages so editors can jump
 * to it; "file: path: reason" when the key is not in the file (a missing key),
 * and "file:line:col: reason" for a YAML syntax error, which has no key path.
 */
export function formatIssue(issue: ConfigIssue): string {
  return format(issue, issue.message);
}

/** Same line with "warning: " before the reason, so warnings and errors can share stderr. */
export function formatWarning(issue: ConfigIssue): string {
  return format(issue, `warning: ${issue.message}`);
}

function format(issue: ConfigIssue, reason: string): string {
  const at = issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.col ?? 1}` : issue.file;
  if (issue.path !== '') return `${at}: ${issue.path}: ${reason}`;
  if (issue.line !== undefined) return `${at}: ${reason}`;
  return `${issue.file}: ${reason}`;
}
