import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient, ControlClientError, ControlServer } from '#api/index';
import type { ControlHandler, NeighborJson, ReloadJson, RouteJson, StatusJson, TunnelJson } from '#api/types';
import { silentLogger } from '#lib/log';
import { statusFixture } from '../fixtures/api/index.js';

const STATUS: StatusJson = statusFixture({ uptimeSeconds: 12 });

const ROUTE: RouteJson = {
  prefix: '10.1.0.0/24',
  source: 'bgp',
  neighbor: 'site-b',
  asPath: [65002],
  nexthops: [{ address: '10.255.0.1', interface: 'wg-site-b' }],
  fib: true,
  fibDetail: null,
};

/** A test double of the agent: the server is under test, not the agent. */
class FakeHandler implements ControlHandler {
  queries: (string | undefined)[] = [];
  reloadResult: ReloadJson = { ok: true, errors: [], added: [], removed: [], changed: [] };
  reloadDelayMs = 0;
  tunnelsNeverAnswer = false;
  status(): StatusJson {
    return STATUS;
  }
  neighbors(): NeighborJson[] {
    throw new Error('neighbors exploded');
  }
  routes(query?: string): RouteJson[] {
    this.queries.push(query);
    return [ROUTE];
  }
  tunnels(): Promise<TunnelJson[]> {
    return this.tunnelsNeverAnswer ? new Promise(() => undefined) : Promise.resolve([]);
  }
  async reload(): Promise<ReloadJson> {
    await new Promise((r) => setTimeout(r, this.reloadDelayMs));
    return this.reloadResult;
  }
}

let dir: string;
let handler: FakeHandler;
let server: ControlServer;
let socketPath: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgbgp-api-'));
  socketPath = join(dir, 'run', 'wgbgp', 'control.sock');
  handler = new FakeHandler();
  server = new ControlServer(handler, { path: socketPath, log: silentLogger() });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw lines and collects `n` reply lines. */
function raw(path: string, text: string, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n').filter((l) => l !== '');
      if (lines.length >= n) {
        s.destroy();
        resolve(lines);
      }
    });
    s.on('error', reject);
    s.write(text);
  });
}

/** A process listening on the path and killed with SIGKILL leaves the socket file behind. */
async function leaveStaleSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

describe('ControlServer', () => {
  it('creates the directory and a socket only root and its group may use (0660)', async () => {
    await server.listen();
    expect(lstatSync(socketPath).isSocket()).toBe(true);
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
  });

  it('answers every command through the handler, with the routes query passed through', async () => {
    await server.listen();
    const c = await ControlClient.connect(socketPath);
    try {
      expect(await c.request({ command: 'status' })).toEqual(STATUS);
      expect(await c.request({ command: 'routes', query: '10.1.0.5' })).toEqual([ROUTE]);
      expect(await c.request({ command: 'routes' })).toEqual([ROUTE]);
      expect(await c.request({ command: 'tunnels' })).toEqual([]);
      expect(await c.request({ command: 'reload' })).toEqual(handler.reloadResult);
      expect(handler.queries).toEqual(['10.1.0.5', undefined]);
    } finally {
      c.close();
    }
  });

  it('a failing command is an error reply; the connection keeps serving', async () => {
    await server.listen();
    const c = await ControlClient.connect(socketPath);
    try {
      const err = await c.request({ command: 'neighbors' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ControlClientError);
      expect((err as ControlClientError).kind).toBe('rejected');
      expect((err as Error).message).toBe('neighbors exploded');
      expect(await c.request({ command: 'status' })).toEqual(STATUS);
    } finally {
      c.close();
    }
  });

  it('replies in request order when a slow command comes first', async () => {
    handler.reloadDelayMs = 100;
    await server.listen();
    const c = await ControlClient.connect(socketPath);
    try {
      const order: string[] = [];
      await Promise.all([
        c.request({ command: 'reload' }).then(() => order.push('reload')),
        c.request({ command: 'status' }).then(() => order.push('status')),
      ]);
      expect(order).toEqual(['reload', 'status']);
    } finally {
      c.close();
    }
  });

  it('rejects malformed requests with a reason, one reply per line', async () => {
    await server.listen();
    const replies = await raw(
      socketPath,
      'not json\n{"command":"shutdown"}\n{"command":"status","query":"x"}\n{"command":"routes","query":"10.1.0.5"}\n',
      4,
    );
    expect(replies.map((l) => JSON.parse(l) as unknown)).toEqual([
      { ok: false, error: 'request is not valid JSON' },
      { ok: false, error: expect.stringMatching(/^unknown command "shutdown"/) },
      { ok: false, error: 'command status takes no query' },
      { ok: true, result: [ROUTE] },
    ]);
  });

  it('closes a connection that sends an endless line', async () => {
    await server.listen();
    const [reply] = await raw(socketPath, 'x'.repeat(70 * 1024), 1);
    expect(JSON.parse(reply!)).toEqual({ ok: false, error: expect.stringMatching(/request too long/) });
  });

  it('removes a stale socket left by a dead agent', async () => {
    await leaveStaleSocket(socketPath);
    expect(lstatSync(socketPath).isSocket()).toBe(true);
    await server.listen();
    const c = await ControlClient.connect(socketPath);
    expect(await c.request({ command: 'status' })).toEqual(STATUS);
    c.close();
  });

  it('refuses to take over a socket somebody answers on', async () => {
    mkdirSync(join(dir, 'run', 'wgbgp'), { recursive: true });
    const other = createServer();
    await new Promise<void>((r) => other.listen(socketPath, () => r()));
    try {
      await expect(server.listen()).rejects.toThrow(/another process is listening on .*control\.sock/);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it('never removes a file that is not a socket', async () => {
    mkdirSync(join(dir, 'run', 'wgbgp'), { recursive: true });
    writeFileSync(socketPath, 'precious');
    await expect(server.listen()).rejects.toThrow(/exists and is not a socket/);
    expect(readFileSync(socketPath, 'utf8')).toBe('precious');
  });

  it('close() removes its socket', async () => {
    await server.listen();
    await server.close();
    expect(existsSync(socketPath)).toBe(false);
  });
});

describe('ControlClient', () => {
  it('names the missing socket and what to do', async () => {
    const p = join(dir, 'nope.sock');
    await expect(ControlClient.connect(p)).rejects.toThrow(
      `cannot reach the agent at ${p}: no such file (is \`wgbgp agent\` running?)`,
    );
  });

  it('says "connection refused" for a socket nobody listens on', async () => {
    await leaveStaleSocket(socketPath);
    await expect(ControlClient.connect(socketPath)).rejects.toThrow(/connection refused/);
  });

  it('times out a request the agent does not answer, and drops the connection', async () => {
    handler.tunnelsNeverAnswer = true;
    await server.listen();
    const c = await ControlClient.connect(socketPath);
    const err = await c.request({ command: 'tunnels' }, 100).catch((e: unknown) => e);
    expect((err as ControlClientError).kind).toBe('timeout');
    expect((err as Error).message).toMatch(/did not answer "tunnels" within 0.1 s/);
    await expect(c.request({ command: 'status' })).rejects.toThrow(/did not answer/);
    c.close();
  });
});

describe('ControlServer bounds (a client can never grow the agent)', () => {
  it('a client that pipelines requests without reading its replies is closed past the unread limit; few requests are ever answered', async () => {
    const big: RouteJson[] = Array.from({ length: 2000 }, (_, i) => ({ ...ROUTE, prefix: `10.${i >> 8}.${i & 255}.0/24` }));
    handler.routes = (q?: string): RouteJson[] => {
      handler.queries.push(q);
      return big;
    };
    await server.close();
    server = new ControlServer(handler, { path: socketPath, log: silentLogger(), maxUnreadBytes: 1024 * 1024, maxPipelined: 8 });
    await server.listen();
    const s = createConnection(socketPath);
    s.on('error', () => {});
    // Never read: pause at once, and pipeline 20 000 requests.
    s.pause();
    await new Promise<void>((r) => s.once('connect', () => r()));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write('{"command":"routes"}\n'.repeat(20_000));
    await closed;
    // About 1 MiB of replies (~230 KB each) plus what the kernel buffers, never thousands.
    expect(handler.queries.length).toBeGreaterThan(2);
    expect(handler.queries.length).toBeLessThan(200);
  });

  it('past the connection cap a new client gets one error line, and there is room again once one leaves', async () => {
    await server.close();
    server = new ControlServer(handler, { path: socketPath, log: silentLogger(), maxConnections: 2 });
    await server.listen();
    const held = [createConnection(socketPath), createConnection(socketPath)];
    for (const h of held) {
      h.on('error', () => {});
      await new Promise<void>((r) => h.once('connect', () => r()));
    }
    await new Promise((r) => setTimeout(r, 20));
    const third = await raw(socketPath, '{"command":"status"}\n', 1);
    expect(JSON.parse(third[0]!)).toEqual({ ok: false, error: 'too many control connections; try again later' });
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse((await raw(socketPath, '{"command":"status"}\n', 1))[0]!)).toMatchObject({ ok: true });
    held[1]!.destroy();
  });

  it('an idle client is closed after idleMs', async () => {
    await server.close();
    server = new ControlServer(handler, { path: socketPath, log: silentLogger(), idleMs: 200 });
    await server.listen();
    const c = createConnection(socketPath);
    c.on('error', () => {});
    const t0 = Date.now();
    await new Promise<void>((r) => c.once('close', () => r()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });
});

