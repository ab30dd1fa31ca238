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
  | { op: 'lag'; id: number }
  | { op: 'close'; id: number };

export type BfdReply =
  | { type: 'status'; status: BfdStatus }
  | { type: 'log'; line: BfdLogLine }
  | { type: 'lag'; maxMs: number }
  | { type: 'done'; id: number; error?: string };

export interface BfdServiceOptions {
  onStatus: (s: BfdStatus) => void;
  onLog: (l: BfdLogLine) => void;
  /** 'auto': a worker when the compiled worker exists. */
  thread?: 'auto' | 'worker' | 'inline';
  port?: number;
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

export class BfdService {
  private readonly worker: Worker | null = null;
  private readonly engine: BfdEngine | null = null;
  private readonly specs = new Map<string, BfdPeerSpec>();
  private readonly statuses = new Map<string, BfdStatus>();
  private readonly waiting = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private lastLag = 0;

  constructor(private readonly o: BfdServiceOptions) {
    const file = o.thread === 'inline' ? null : workerFile();
    if (o.thread === 'worker' && file === null) throw new Error('BFD worker not built (npm run build)');
    if (file !== null) {
      this.worker = new Worker(file, { workerData: { port: o.port } });
      this.worker.unref();
      this.worker.on('message', (m: BfdReply) => this.onReply(m));
      this.worker.on('error', (err) => {
        this.o.onLog({ level: 'warn', msg: 'BFD worker failed', fields: { err: err.message } });
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
      });
    } else {
      this.engine = new BfdEngine({ onStatus: (s) => this.onStatus(s), onLog: o.onLog, ...(o.port ? { port: o.port } : {}) });
    }
  }

  get threaded(): boolean {
    return this.worker !== null;
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
    await this.request({ op: 'set', id: 0, add, update, remove });
    // Statuses of removed sessions that were in flight are not kept.
    for (const n of remove) this.statuses.delete(n);
  }

  status(name: string): BfdStatus | null {
    return this.statuses.get(name) ?? null;
  }

  /** The BFD thread's longest event-loop delay since the last call, ms (0 inline: the caller's loop is the one to watch). */
  async maxLagMs(): Promise<number> {
    if (!this.worker) return 0;
    await this.request({ op: 'lag', id: 0 });
    return this.lastLag;
  }

  async close(): Promise<void> {
    if (this.engine) {
      this.engine.close();
      return;
    }
    if (!this.worker) return;
    try {
      await this.request({ op: 'close', id: 0 });
    } finally {
      await this.worker.terminate();
    }
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
      case 'lag':
        this.lastLag = m.maxMs;
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
