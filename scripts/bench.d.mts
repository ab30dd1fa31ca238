// Types of scripts/bench.mjs (the `npm run bench` wrapper) for its test.
export type BenchJsonTarget = null | { to: 'stdout' } | { to: 'file'; path: string };
export function parseBenchArgs(argv: readonly string[], envJson: string | undefined): { json: BenchJsonTarget; rest: string[] };
export function mergeBenchJson(
  dir: string,
  run: { argv: readonly string[]; exitCode: number | null },
): { date: string; argv: readonly string[]; exitCode: number | null; machine: Record<string, unknown>; benches: Record<string, unknown> };
