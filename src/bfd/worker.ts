/**
 * The BFD engine in a worker thread: its own event loop and heap, so the
 * main thread's full-table ingest and garbage collection do not delay its
 * packets or its detection timers (docs/operations.md has the measurement).
 * Messages: BfdRequest in, BfdReply out (src/bfd/service.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BfdEngine } from './engine.js';
import { setThreadNice } from './socket.js';
import type { BfdReply, BfdRequest } from './service.js';

const port = parentPort;
if (port === null) throw new Error('src/bfd/worker.ts runs as a worker thread');
const post = (m: BfdReply): void => port.postMessage(m);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

/**
 * The BFD thread runs at nice -10: on a busy router (a full-table ingest on
 * the main thread, the routing daemons, the kernel writing routes) a thread
 * of nice 0 can wait for a CPU longer than a detection time. Measured with 1 M
 * routes on 2 busy cores: docs/operations.md.
 */
const BFD_THREAD_NICE = -10;
const niceError = setThreadNice(BFD_THREAD_NICE);
if (niceError !== null) post({ type: 'log', line: { level: 'warn', msg: 'BFD thread keeps the normal CPU priority', fields: { nice: BFD_THREAD_NICE, err: niceError } } });

const data = (workerData ?? {}) as { port?: number; peerPort?: number };
const engine = new BfdEngine({
  onStatus: (status) => post({ type: 'status', status }),
  onLog: (line) => post({ type: 'log', line }),
  ...(data.port ? { port: data.port } : {}),
  ...(data.peerPort ? { peerPort: data.peerPort } : {}),
});

/**
 * A failure in this thread (a bug) ends it with exit code 1 and the service
 * starts another. Not as Node would end it by default (stopping the thread
 * with its sockets open): koffi's poll handle of an open socket can then
 * call into the stopping thread for a packet just received, which aborts the
 * whole process ("napi_throw" fatal error). So the sockets are closed here,
 * and the thread ends only after the event loop has finished closing their
 * handles (one turn later).
 */
let failed = false;
process.on('uncaughtException', (err) => {
  if (failed) return;
  failed = true;
  try {
    engine.abandon();
  } finally {
    post({ type: 'log', line: { level: 'warn', msg: 'BFD worker failed', fields: { err: err instanceof Error ? (err.stack ?? err.message) : String(err) } } });
    setTimeout(() => process.exit(1), 1);
  }
});

port.on('message', (m: BfdRequest) => {
  // Failing: no new sockets; the thread ends in a moment.
  if (failed) return;
  try {
    switch (m.op) {
      case 'set':
        for (const spec of m.add) engine.add(spec);
        for (const spec of m.update) engine.update(spec);
        for (const name of m.remove) engine.remove(name);
        break;
      case 'stats':
        post({ type: 'stats', stats: { maxDelayMs: delay.max / 1e6, dropped: { ...engine.dropped } } });
        delay.reset();
        break;
      case 'close':
        // Every socket closed, then the port: nothing is left to keep the thread, which ends by itself.
        engine.close();
        delay.disable();
        post({ type: 'done', id: m.id });
        port.close();
        return;
      case 'crash':
        // As a bug would: an exception nothing catches, outside this handler.
        setImmediate(() => {
          throw new Error('BFD worker crash requested (test)');
        });
        break;
    }
    post({ type: 'done', id: m.id });
  } catch (err) {
    post({ type: 'done', id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
