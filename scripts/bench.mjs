#!/usr/bin/env node
// `npm run bench` (after `npm run build`): every bench/*.bench.ts, or the files
// named, through vitest, one file at a time.
//
//   npm run bench                                  tables on stdout
//   npm run bench -- bench/converge.bench.ts       one file
//   npm run bench --silent -- --json > r.json      one JSON document on stdout, the tables on stderr
//   npm run bench -- --json=r.json                 the same document into r.json, the tables on stdout
//
// With --json (or BENCH_JSON=PATH, which means --json=PATH) each bench file
// writes its results into a folder of its own (BENCH_JSON_DIR, see
// bench/lib/json-out.ts) and this script merges them:
//   { date, argv, exitCode, machine, benches: { converge: {...}, netlink: {...}, vpp: {...} } }
// The exit code is vitest's.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Splits the command line: `--json` (JSON on stdout), `--json=PATH` (into a
 * file), everything else for vitest. BENCH_JSON=PATH in the environment
 * counts as --json=PATH when the command line does not say.
 * @param {readonly string[]} argv
 * @param {string | undefined} envJson
 * @returns {{ json: null | { to: 'stdout' } | { to: 'file', path: string }, rest: string[] }}
 */
export function parseBenchArgs(argv, envJson) {
  /** @type {null | { to: 'stdout' } | { to: 'file', path: string }} */
  let json = null;
  const rest = [];
  for (const a of argv) {
    if (a === '--json') json = { to: 'stdout' };
    else if (a.startsWith('--json=')) {
      const path = a.slice('--json='.length);
      if (path === '') throw new Error('--json= needs a path (or --json alone for stdout)');
      json = { to: 'file', path };
    } else rest.push(a);
  }
  if (json === null && envJson !== undefined && envJson !== '') json = { to: 'file', path: envJson };
  return { json, rest };
}

/**
 * One document from the per-file results in `dir` (name.json each); a file
 * that is not valid JSON is kept as its text under `error`.
 * @param {string} dir
 * @param {{ argv: readonly string[], exitCode: number | null }} run
 */
export function mergeBenchJson(dir, run) {
  /** @type {Record<string, unknown>} */
  const benches = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    try {
      benches[f.slice(0, -'.json'.length)] = JSON.parse(text);
    } catch (e) {
      benches[f.slice(0, -'.json'.length)] = { error: `not JSON: ${e instanceof Error ? e.message : String(e)}`, text: text.slice(0, 2000) };
    }
  }
  return {
    date: new Date().toISOString(),
    argv: run.argv,
    exitCode: run.exitCode,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      kernel: release(),
      node: process.version,
      loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    benches,
  };
}

async function main() {
  const argv = process.argv.slice(2);
  let parsed;
  try {
    parsed = parseBenchArgs(argv, process.env.BENCH_JSON);
  } catch (e) {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const { json, rest } = parsed;
  const env = { ...process.env };
  let dir = null;
  if (json !== null) {
    dir = mkdtempSync(join(tmpdir(), 'wgbgp-bench-json-'));
    env.BENCH_JSON_DIR = dir;
    delete env.BENCH_JSON;
  }
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [vitest, 'bench', '--run', '--config', join(root, 'bench', 'vitest.bench.config.ts'), ...rest];
  // With the document on stdout, vitest's own output (the tables) goes to stderr.
  const stdio = json?.to === 'stdout' ? ['inherit', 2, 2] : 'inherit';
  const child = spawn(process.execPath, args, { cwd: root, env, stdio });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const exitCode = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  if (json !== null && dir !== null) {
    const doc = `${JSON.stringify(mergeBenchJson(dir, { argv, exitCode }), null, 2)}\n`;
    rmSync(dir, { recursive: true, force: true });
    if (json.to === 'stdout') process.stdout.write(doc);
    else {
      writeFileSync(json.path, doc);
      process.stderr.write(`bench: results written to ${json.path}\n`);
    }
  }
  return exitCode;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main();
}
