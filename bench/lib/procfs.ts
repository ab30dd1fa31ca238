/**
 * Cheap observations through /proc: a process's CPU time and peak RSS, and the
 * size of a network namespace's FIB (read through /proc/<pid>/net of any
 * process living in it, so polling costs no process spawn and no route dump).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads) in ms, or null when it is gone. */
export function cpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * How long the process's main thread was runnable but waited for a CPU (ms,
 * /proc/<pid>/schedstat's second field), or null when it is gone: on a shared
 * box, what a single-threaded VPP lost to everyone else.
 */
export function runQueueMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const f = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ');
    return Number(f[1]) / 1e6;
  } catch {
    return null;
  }
}

/** VmHWM (peak resident set) in kB, or null when the process is gone. */
export function peakRssKb(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * What a process has resident now, split (kB): private anonymous memory (its
 * heap and data) and file-backed pages (its executable and libraries, shared
 * with every other process that maps them: for node, ~34 MB of its own binary
 * at start, for BIRD about 1 MB). Null when the process is gone.
 */
export function residentKb(pid: number | null): { anon: number; file: number } | null {
  if (pid === null) return null;
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const anon = /^RssAnon:\s+(\d+) kB/m.exec(st);
    const file = /^RssFile:\s+(\d+) kB/m.exec(st);
    return anon && file ? { anon: Number(anon[1]), file: Number(file[1]) } : null;
  } catch {
    return null;
  }
}

export interface FibSize {
  /** IPv4 prefixes in the main trie (main and local share one trie until policy rules exist). */
  v4: number;
  /** IPv6 route entries of the namespace (all tables). */
  v6: number;
}

/**
 * FIB size as the kernel counts it, in the namespace of `pid`: a few ms even
 * at 100 000 routes, where `ip route show | wc -l` takes 0.5 s. It counts every
 * route (connected, local, …), so callers compare it against an offset.
 */
export function fibSize(pid: number): FibSize {
  const trie = readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const main = /^Main:\n(?:.*\n)*?\s*Prefixes:\s*(\d+)/m.exec(trie);
  // rt6_stats: fib_nodes route_nodes rt_alloc rt_entries rt_cache discarded dst_entries (hex).
  const rt6 = readFileSync(`/proc/${pid}/net/rt6_stats`, 'utf8').trim().split(/\s+/);
  if (!main || rt6.length < 4) throw new Error(`cannot read the FIB size of pid ${pid}`);
  return { v4: Number(main[1]), v6: parseInt(rt6[3]!, 16) };
}
