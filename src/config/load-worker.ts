/**
 * The configuration loaded on a thread of its own, for the agent. Parsing and
 * validation (yaml, zod and the schemas built from it, the cross checks) are
 * several megabytes of heap and code that the agent needs only while a file is
 * read, at start and at each reload; in a worker they go away with its isolate,
 * and the agent receives the validated Config (plain data, structured clone)
 * with the issues already formatted. Where no compiled worker exists (tests run
 * from the TypeScript sources) the load runs on the calling thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort, workerData } from 'node:worker_threads';
import type { Config } from './types.js';

/** What the agent needs of a load: the configuration and its warnings, or why it was rejected, as printed. */
export type FormattedLoad = { ok: true; config: Config; warnings: string[] } | { ok: false; errors: string[] };

const ROLE = 'wgbgp-config-load';

/** loadConfig with the issues formatted (`file:line:col: path: reason`). */
export async function loadFormatted(path: string): Promise<FormattedLoad> {
  const { loadConfig, formatIssue } = await import('./index.js');
  const r = await loadConfig(path);
  return r.ok ? { ok: true, config: r.config, warnings: r.warnings.map(formatIssue) } : { ok: false, errors: r.errors.map(formatIssue) };
}

function workerFile(): string | null {
  if (!import.meta.url.endsWith('.js')) return null;
  const file = fileURLToPath(import.meta.url);
  return existsSync(file) ? file : null;
}

/** loadFormatted on a worker thread that ends with it. */
export function loadConfigApart(path: string): Promise<FormattedLoad> {
  const file = workerFile();
  if (file === null) return loadFormatted(path);
  return new Promise((resolve, reject) => {
    // No inherited execArgv (as the BFD worker): a parent run from the sources would send its imports to the .ts files.
    const worker = new Worker(file, { workerData: { role: ROLE, path }, execArgv: [] });
    let answer: FormattedLoad | null = null;
    worker.once('message', (m: FormattedLoad) => (answer = m));
    worker.once('error', (err) => reject(new Error(`${path}: the configuration could not be loaded: ${err.message}`)));
    worker.once('exit', (code) => {
      if (answer !== null) resolve(answer);
      else reject(new Error(`${path}: the configuration loader exited (${code}) without an answer`));
    });
  });
}

if (parentPort !== null && (workerData as { role?: unknown } | null)?.role === ROLE) {
  const port = parentPort;
  port.postMessage(await loadFormatted((workerData as { path: string }).path));
}
