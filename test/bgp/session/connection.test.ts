/**
 * Connection reads one chunk per turn of the event loop (issue 10): a peer
 * streaming a full table must not keep the agent from everything else (its
 * FIB writes completing, timers) while libuv reads the socket up to 32
 * times a turn.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '#bgp/session/connection';
import { SystemClock } from '#lib/clock';

let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

describe('Connection', () => {
  it('hands over one chunk per turn of the event loop while a peer keeps sending, and every byte arrives', async () => {
    const total = 8 * 1024 * 1024;
    let sender: Socket | null = null;
    server = createServer((s) => {
      sender = s;
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    let received = 0;
    let sinceTurn = 0;
    let most = 0;
    let turns = 0;
    const done = new Promise<void>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      new Connection(sock, true, new SystemClock(), {
        connected: () => {
          // The whole stream is in the kernel's buffers before the reader gets a turn.
          sender!.write(Buffer.alloc(total, 1));
          sender!.end();
        },
        data: (_c, chunk) => {
          received += chunk.length;
          sinceTurn++;
          most = Math.max(most, sinceTurn);
          if (received === total) resolve();
        },
        closed: () => undefined,
      });
    });
    let running = true;
    const tick = (): void => {
      turns++;
      sinceTurn = 0;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await done;
    running = false;
    expect(received).toBe(total);
    expect(most).toBe(1);
    expect(turns).toBeGreaterThan(total / (64 * 1024) / 2);
  });
});
