/**
 * Where a bench file writes its results as JSON. `npm run bench -- --json`
 * (scripts/bench.mjs) gives every file a path of its own in BENCH_JSON_DIR
 * and merges them into one document; a file run on its own with
 * BENCH_JSON=PATH writes there, as before.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

/** The path for bench `name`'s JSON, or undefined when none was asked for. */
export function benchJsonPath(name: string): string | undefined {
  const dir = process.env.BENCH_JSON_DIR;
  if (dir !== undefined && dir !== '') return join(dir, `${name}.json`);
  const file = process.env.BENCH_JSON;
  return file !== undefined && file !== '' ? file : undefined;
}

/** The machine notes every bench's JSON carries (ratios travel, absolute times do not). */
export function machineNotes(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Writes `doc` for bench `name` when JSON was asked for; returns the path written, or undefined. */
export function writeBenchJson(name: string, doc: Record<string, unknown>): string | undefined {
  const path = benchJsonPath(name);
  if (path === undefined) return undefined;
  writeFileSync(path, `${JSON.stringify({ bench: name, date: new Date().toISOString(), ...doc }, null, 2)}\n`);
  return path;
}
