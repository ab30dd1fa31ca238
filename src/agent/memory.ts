/**
 * The agent's memory as an operator asks for it (`wgbgp status`, like BIRD's
 * `show memory`): the resident set split into the agent's own pages and
 * node's shared executable, the JavaScript heap, and the typed-array columns
 * that hold the tables (docs/performance.md explains the split).
 */
import { readFileSync } from 'node:fs';
import type { MemoryJson } from '#api/types';

/** RssAnon of /proc/self/status in bytes (the process's private resident memory), null where unreadable. */
function privateResident(): number | null {
  try {
    const m = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export function memoryStatus(attributeSets: number): MemoryJson {
  const u = process.memoryUsage();
  return { resident: u.rss, private: privateResident(), heap: u.heapUsed, tables: u.arrayBuffers, attributeSets };
}
