/**
 * The agent's handle on BFD: the engine in a worker thread (compiled
 * daemon), or on the calling thread where no compiled worker exists (tests
 * run from the TypeScript sources). The agent says which sessions it wants;
 * statuses come back as they change.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BfdEngine, type BfdLogLine, type BfdPeerSpec, type BfdStatus } from './engine.js';

export type BfdRequest =
  | { op: 'set'; id: number; add: BfdPeerSpec[]; update: BfdPeerSpec[]; remove: string[] }
  | { op: 'stats'; id: number }
  | { op: 'close'; id: number }
  /** Tests: the worker fails as a bug would make it (an uncaught exception). */
  | { op: 'crash'; id: number };

export type BfdReply =
  | { type: 'status'; status: BfdStatus }
  | { type: 'log'; line: BfdLogLine }
  | { type: 'stats'; stats: BfdThreadStats }
  | { type: 'done'; id: number; error?: string };

/** The BFD thread's figures for the metrics. */
export interface BfdThreadStats {
  /** Its longest event-loop delay since the previous call, ms (0 on the calling thread: its own delay is the caller's). */
  maxDelayMs: number;
  /** Packets dropped before reaching a session, by reason (ttl, wrong-path, no-session, the codec's reasons), since the thread started. */
  dropped: Record<string, number>;
}

export interface BfdServiceOptions {
  onStatus: (s: BfdStatus) => void;
  onLog: (l: BfdLogLine) => void;
  /** 'auto': a worker when the compiled worker exists. */
  thread?: 'auto' | 'worker' | 'inline';
  port?: number;
  /** UDP port to send to (tests with both ends on one host); `port` by default. */
  peerPort?: number;
  /** How long after the worker died it is started again, ms (tests shorten it). */
  restartMs?: number;
}

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

function workerFile(): string | null {
  const url = new URL('./worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.js')) return null;
  const file = fileURLToPath(url);
  return existsSync(file) ? file : null;
}

function sameSpec(a: BfdPeerSpec, b: BfdPeerSpec): boolean {
  return (
    a.interface === b.interface &&
    a.local === b.local &&
    a.remote === b.remote &&
    a.timers.desiredMinTx === b.timers.desiredMinTx &&
    a.timers.requiredMinRx === b.timers.requiredMinRx &&
    a.timers.detectMult === b.timers.detectMult
  );
}

/** A worker that died is started again after this long, with every session. */
const WORKER_RESTART_MS = 1000;
/** How long close() waits for the worker to end by itself before it is stopped. */
const WORKER_CLOSE_MS = 5000;

export class BfdService {
  private worker: Worker | null = null;
  private readonly file: string | null;
  private closing = false;
  private readonly engine: BfdEngine | null = null;
  private readonly specs = new Map<string, BfdPeerSpec>();
  private readonly statuses = new Map<string, BfdStatus>();
  private readonly waiting = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private lastStats: BfdThreadStats = { maxDelayMs: 0, dropped: {} };

  constructor(private readonly o: BfdServiceOptions) {
    const file = o.thread === 'inline' ? null : workerFile();
    if (o.thread === 'worker' && file === null) throw new Error('BFD worker not built (npm run build)');
    this.file = file;
    if (file !== null) this.startWorker(file);
    else this.engine = new BfdEngine({ onStatus: (s) => this.onStatus(s), onLog: o.onLog, ...(o.port ? { port: o.port } : {}), ...(o.peerPort ? { peerPort: o.peerPort } : {}) });
  }

  /**
   * The worker, and its replacement should it die (a bug, not an expected
   * event): every session is set up again in the new one. Its sessions start
   * anew (new discriminators), so the peers see them go down and come back.
   */
  private startWorker(file: string): void {
    // No inherited execArgv: a parent run from the sources (`--conditions source`, the test runner) would
    // send the compiled worker's own imports to the .ts files.
    const worker = new Worker(file, { workerData: { port: this.o.port, peerPort: this.o.peerPort }, execArgv: [] });
    worker.unref();
    worker.on('message', (m: BfdReply) => this.onReply(m));
    worker.on('error', (err) => this.o.onLog({ level: 'warn', msg: 'BFD worker failed', fields: { err: err.message } }));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const w of this.waiting.values()) w.reject(new Error(`BFD worker exited (${code})`));
      this.waiting.clear();
      if (this.closing) return;
      this.o.onLog({ level: 'warn', msg: 'BFD worker exited; starting it again', fields: { code, sessions: this.specs.size } });
      const t = setTimeout(() => {
        if (this.closing) return;
        this.startWorker(file);
        void this.request({ op: 'set', id: 0, add: [...this.specs.values()], update: [], remove: [] }).catch(() => undefined);
      }, this.o.restartMs ?? WORKER_RESTART_MS);
      t.unref();
    });
    this.worker = worker;
  }

  get threaded(): boolean {
    return this.file !== null;
  }

  /** The sessions wanted now: new ones start, changed ones change (timers by a Poll Sequence), missing ones end. */
  async set(wanted: BfdPeerSpec[]): Promise<void> {
    const add: BfdPeerSpec[] = [];
    const update: BfdPeerSpec[] = [];
    const names = new Set(wanted.map((s) => s.name));
    const remove = [...this.specs.keys()].filter((n) => !names.has(n));
    for (const spec of wanted) {
      const old = this.specs.get(spec.name);
      if (!old) add.push(spec);
      else if (!sameSpec(old, spec)) update.push(spec);
    }
    for (const n of remove) {
      this.specs.delete(n);
      this.statuses.delete(n);
    }
    for (const s of wanted) this.specs.set(s.name, s);
    if (add.length + update.length + remove.length === 0) return;
    if (this.engine) {
      for (const s of add) this.engine.add(s);
      for (const s of update) this.engine.update(s);
      for (const n of remove) this.engine.remove(n);
      return;
    }
    // No worker for a moment (restarting): the new one gets every session in this.specs.
    if (!this.worker) return;
    await this.request({ op: 'set', id: 0, add, update, remove });
    // Statuses of removed sessions that were in flight are not kept.
    for (const n of remove) this.statuses.delete(n);
  }

  status(name: string): BfdStatus | null {
    return this.statuses.get(name) ?? null;
  }

  /** The BFD thread's figures (event-loop delay since the last call, drops). */
  async stats(): Promise<BfdThreadStats> {
    if (this.engine) return { maxDelayMs: 0, dropped: { ...this.engine.dropped } };
    if (!this.worker) return this.lastStats;
    await this.request({ op: 'stats', id: 0 });
    return this.lastStats;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.engine) {
      this.engine.close();
      return;
    }
    const worker = this.worker;
    if (!worker) return;
    let ended = false;
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', () => {
        ended = true;
        resolve();
      }),
    );
    try {
      // The worker closes every socket (their poll handles with them) and its port, then ends by itself.
      await this.request({ op: 'close', id: 0 });
      await Promise.race([exited, delay(WORKER_CLOSE_MS, undefined)]);
    } finally {
      this.worker = null;
      // Only a worker that did not end by itself is stopped (koffi's poll handles still open in a stopped
      // thread can abort the process: src/bfd/worker.ts).
      if (!ended) {
        this.o.onLog({ level: 'warn', msg: 'BFD worker did not end by itself; stopped', fields: {} });
        await worker.terminate();
      }
    }
  }

  /** Makes the worker fail as a bug would (tests of the restart); resolves when it has ended. */
  async crashForTest(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    await this.request({ op: 'crash', id: 0 }).catch(() => undefined);
    await exited;
  }

  private request(m: BfdRequest): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker!.postMessage({ ...m, id });
    });
  }

  private onReply(m: BfdReply): void {
    switch (m.type) {
      case 'status':
        this.onStatus(m.status);
        return;
      case 'log':
        this.o.onLog(m.line);
        return;
      case 'stats':
        this.lastStats = m.stats;
        return;
      case 'done': {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve(m.id);
        return;
      }
    }
  }

  private onStatus(s: BfdStatus): void {
    if (!this.specs.has(s.name)) return;
    this.statuses.set(s.name, s);
    this.o.onStatus(s);
  }
}
