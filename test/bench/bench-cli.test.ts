/**
 * `npm run bench` (scripts/bench.mjs): one command, tables on the terminal and
 * with --json one JSON document merged from every bench file's results
 * (issue 10: "one command, one run, a table and --json").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeBenchJson, parseBenchArgs } from '../../scripts/bench.mjs';
import { netnsSupported } from '../lab/helpers/netns.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'bench.mjs');
const CI = process.env.CI === 'true';

describe('bench wrapper: arguments', () => {
  it('--json asks for stdout, --json=PATH for a file, the rest goes to vitest', () => {
    expect(parseBenchArgs(['bench/converge.bench.ts', '--json'], undefined)).toEqual({ json: { to: 'stdout' }, rest: ['bench/converge.bench.ts'] });
    expect(parseBenchArgs(['--json=/tmp/r.json', '-t', 'vpp'], undefined)).toEqual({ json: { to: 'file', path: '/tmp/r.json' }, rest: ['-t', 'vpp'] });
    expect(parseBenchArgs([], undefined)).toEqual({ json: null, rest: [] });
    expect(() => parseBenchArgs(['--json='], undefined)).toThrow(/needs a path/);
  });

  it('BENCH_JSON=PATH counts as --json=PATH unless the command line says otherwise', () => {
    expect(parseBenchArgs([], '/tmp/b.json')).toEqual({ json: { to: 'file', path: '/tmp/b.json' }, rest: [] });
    expect(parseBenchArgs(['--json'], '/tmp/b.json')).toEqual({ json: { to: 'stdout' }, rest: [] });
    expect(parseBenchArgs([], '')).toEqual({ json: null, rest: [] });
  });

  it('merges one file per bench under its name and keeps a broken one as text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgbgp-bench-merge-'));
    try {
      writeFileSync(join(dir, 'converge.json'), JSON.stringify({ bench: 'converge', scenarios: [{ n: 5 }] }));
      writeFileSync(join(dir, 'netlink.json'), '{"bench": "netlink", "results": [');
      writeFileSync(join(dir, 'notes.txt'), 'not a result');
      const doc = mergeBenchJson(dir, { argv: ['--json'], exitCode: 1 });
      expect(Object.keys(doc.benches)).toEqual(['converge', 'netlink']);
      expect(doc.benches.converge).toEqual({ bench: 'converge', scenarios: [{ n: 5 }] });
      expect(doc.benches.netlink).toMatchObject({ error: expect.stringMatching(/^not JSON/), text: expect.stringContaining('"netlink"') });
      expect(doc.exitCode).toBe(1);
      expect(doc.machine.cpus).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const skip = !netnsSupported() && !CI;
if (skip) console.log('bench-cli: the netlink bench run skipped: needs root and `ip netns`');

describe.skipIf(skip)('bench wrapper: a real bench file', () => {
  it('--json prints one document on stdout (tables on stderr) with every netlink measurement checked against the table', { timeout: 240_000 }, () => {
    if (!netnsSupported()) throw new Error('bench-cli needs root and `ip netns`');
    const r = spawnSync(process.execPath, [SCRIPT, '--json', 'bench/netlink.bench.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_NETLINK_SIZES: '300,1200', BENCH_JSON: '' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 230_000,
    });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const doc = JSON.parse(r.stdout) as { exitCode: number; benches: { netlink?: { sizes: unknown; results: { what: string; routes: number; ok: boolean | null }[] } } };
    expect(doc.exitCode).toBe(0);
    const netlink = doc.benches.netlink!;
    expect(netlink.sizes).toEqual({ small: 300, large: 1200 });
    const writes = netlink.results.filter((x) => x.ok !== null);
    // Every kind of write measured (vitest may run a case more than once), each checked against the table.
    expect(new Set(writes.map((x) => x.what))).toEqual(
      new Set([
        'netlink routeBatch',
        'FibManager.set ×n + flush (RTA_NH_ID)',
        'FibManager.set ×n + flush (gateway+oif)',
        'netlink routeWrite (gateway+oif)',
        'netlink routeWrite (RTA_NH_ID)',
        'one nexthop object replaced',
        'ip -batch (one process)',
        'ip route replace, one process per route',
      ]),
    );
    expect(writes.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(netlink.results.map((x) => x.routes))).toEqual(new Set([300, 1200]));
    // The tables went to stderr, not into the document.
    expect(r.stderr).toMatch(/netlink routeBatch\s+1200 routes/);
  });

  it('--json=PATH writes the same document into a file', { timeout: 240_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgbgp-bench-cli-'));
    try {
      const out = join(dir, 'r.json');
      const r = spawnSync(process.execPath, [SCRIPT, `--json=${out}`, 'bench/netlink.bench.ts'], {
        cwd: ROOT,
        env: { ...process.env, BENCH_NETLINK_SIZES: '200,400', BENCH_JSON: '' },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout: 230_000,
      });
      expect(r.status, r.stderr.slice(-3000)).toBe(0);
      expect(r.stdout).toMatch(/netlink routeBatch\s+400 routes/);
      const doc = JSON.parse(readFileSync(out, 'utf8')) as { benches: { netlink?: { results: unknown[] } } };
      expect(doc.benches.netlink?.results.length).toBeGreaterThan(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
