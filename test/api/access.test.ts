/**
 * Who may do what on the control socket (issue 8): the file is mode 0660 with
 * `control.group`, so members may connect and ask; changing commands need
 * root or `control.admin-group`, told apart by SO_PEERCRED. Other users are
 * real processes here: children started with another uid/gid (no host users
 * are added). Also the `watch` stream and `neighbors NAME`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient, ControlServer, isChanging, parseRequest } from '#api/index';
import { resolveGroup } from '#api/peercred';
import type { ControlHandler, LogLevelsJson, NeighborJson, ReloadJson, RouteJson, StatusJson, TunnelJson, WatchEvent } from '#api/types';
import { silentLogger } from '#lib/log';
import { neighborFixture, statusFixture } from '../fixtures/api/index.js';

const NOBODY = 65534;
const OPERATORS = 4242;
const STRANGERS = 4343;
const isRoot = process.getuid?.() === 0;
const needRoot = isRoot || process.env.CI === 'true' ? it : it.skip;

class Handler implements ControlHandler {
  reloads = 0;
  level = 'info';
  private listeners = new Set<(e: WatchEvent) => void>();
  status(): StatusJson {
    return statusFixture();
  }
  neighbors(): NeighborJson[] {
    return [neighborFixture(), neighborFixture({ name: 'site-c', interface: 'wg-site-c', state: 'Active', session: null })];
  }
  routes(): RouteJson[] {
    return [];
  }
  async tunnels(): Promise<TunnelJson[]> {
    return [];
  }
  async reload(): Promise<ReloadJson> {
    this.reloads++;
    return { ok: true, errors: [], added: [], removed: [], changed: [] };
  }
  watch(listener: (e: WatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  get watchers(): number {
    return this.listeners.size;
  }
  emit(e: WatchEvent): void {
    for (const l of this.listeners) l(e);
  }
  logLevel(component?: string, level?: string): LogLevelsJson {
    if (component !== undefined && level !== undefined) this.level = level;
    return { levels: { bgp: this.level } };
  }
}

let dir: string;
let path: string;
let handler: Handler;
let server: ControlServer;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wgbgp-access-'));
  // Other users must reach the socket: the folder is traversable, the socket file decides.
  chmodSync(dir, 0o755);
  path = join(dir, 'control.sock');
  handler = new Handler();
});

afterEach(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One request per line from a child process running as uid/gid; its replies, or the connect error. */
async function asUser(uid: number, gid: number, requests: object[]): Promise<{ replies: { ok: boolean; error?: string; result?: unknown }[]; error: string | null }> {
  const script = `
    const s = require('node:net').createConnection(process.argv[1]);
    const want = Number(process.argv[2]);
    let buf = '';
    s.on('error', (e) => { process.stdout.write(JSON.stringify({ error: e.code })); process.exit(0); });
    s.on('connect', () => { for (const r of JSON.parse(process.argv[3])) s.write(JSON.stringify(r) + '\\n'); });
    s.on('data', (d) => {
      buf += d;
      const lines = buf.split('\\n').filter(Boolean);
      if (lines.length >= want) { process.stdout.write(JSON.stringify({ replies: lines.map((l) => JSON.parse(l)) })); process.exit(0); }
    });`;
  // Asynchronous: the server under test answers from this process's event loop.
  const r = await promisify(execFile)(process.execPath, ['-e', script, path, String(requests.length), JSON.stringify(requests)], { uid, gid, encoding: 'utf8', timeout: 10_000 });
  const out = JSON.parse(r.stdout) as { replies?: { ok: boolean; error?: string }[]; error?: string };
  return { replies: out.replies ?? [], error: out.error ?? null };
}

describe('control socket permissions (SO_PEERCRED)', () => {
  needRoot('the socket is 0660 and belongs to control.group', async () => {
    server = new ControlServer(handler, { path, log: silentLogger(), access: { group: OPERATORS, adminGroup: null } });
    await server.listen();
    const st = statSync(path);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(OPERATORS);
  });

  needRoot('a member of control.group may ask, not change: reload and setting a level are refused, reading levels is not', async () => {
    server = new ControlServer(handler, { path, log: silentLogger(), access: { group: OPERATORS, adminGroup: null } });
    await server.listen();
    const r = await asUser(NOBODY, OPERATORS, [
      { command: 'status' },
      { command: 'reload' },
      { command: 'log-level' },
      { command: 'log-level', component: 'bgp', level: 'debug' },
      { command: 'neighbors', query: 'site-b' },
    ]);
    expect(r.error).toBeNull();
    expect(r.replies.map((x) => x.ok)).toEqual([true, false, true, false, true]);
    expect(r.replies[1]?.error).toBe('permission denied: reload is for root');
    expect(r.replies[3]?.error).toBe('permission denied: log-level (setting a level) is for root');
    expect(handler.reloads).toBe(0);
    expect(handler.level).toBe('info');
  });

  needRoot('a user outside the group cannot connect at all', async () => {
    server = new ControlServer(handler, { path, log: silentLogger(), access: { group: OPERATORS, adminGroup: null } });
    await server.listen();
    expect((await asUser(NOBODY, STRANGERS, [{ command: 'status' }])).error).toBe('EACCES');
  });

  needRoot('without control.group only root may connect', async () => {
    server = new ControlServer(handler, { path, log: silentLogger() });
    await server.listen();
    expect(statSync(path).gid).toBe(process.getgid?.());
    expect((await asUser(NOBODY, OPERATORS, [{ command: 'status' }])).error).toBe('EACCES');
  });

  needRoot('a member of control.admin-group may reload and set levels', async () => {
    server = new ControlServer(handler, { path, log: silentLogger(), access: { group: OPERATORS, adminGroup: OPERATORS } });
    await server.listen();
    const r = await asUser(NOBODY, OPERATORS, [{ command: 'reload' }, { command: 'log-level', component: 'bgp', level: 'debug' }]);
    expect(r.replies.map((x) => x.ok)).toEqual([true, true]);
    expect(handler.reloads).toBe(1);
    expect(handler.level).toBe('debug');
  });

  needRoot('root may change things whatever the groups', async () => {
    server = new ControlServer(handler, { path, log: silentLogger(), access: { group: OPERATORS, adminGroup: null } });
    await server.listen();
    const c = await ControlClient.connect(path);
    try {
      expect(await c.request({ command: 'reload' })).toMatchObject({ ok: true });
    } finally {
      c.close();
    }
  });

  needRoot('a reload that changes the groups changes the socket file; a new connection gets the new rights', async () => {
    server = new ControlServer(handler, { path, log: silentLogger(), access: { group: OPERATORS, adminGroup: null } });
    await server.listen();
    await server.setAccess({ group: STRANGERS, adminGroup: STRANGERS });
    expect(statSync(path).gid).toBe(STRANGERS);
    expect((await asUser(NOBODY, OPERATORS, [{ command: 'status' }])).error).toBe('EACCES');
    expect((await asUser(NOBODY, STRANGERS, [{ command: 'reload' }])).replies[0]?.ok).toBe(true);
  });
});

describe('requests', () => {
  it('which commands change the agent', () => {
    const req = (line: object) => {
      const r = parseRequest(JSON.stringify(line));
      if (typeof r === 'string') throw new Error(r);
      return r;
    };
    expect(isChanging(req({ command: 'reload' }))).toBe(true);
    expect(isChanging(req({ command: 'log-level', component: 'bgp', level: 'debug' }))).toBe(true);
    expect(isChanging(req({ command: 'log-level' }))).toBe(false);
    expect(isChanging(req({ command: 'watch' }))).toBe(false);
    expect(isChanging(req({ command: 'neighbors', query: 'x' }))).toBe(false);
  });
  it('log-level fields only on log-level, a level only with a component', () => {
    expect(parseRequest('{"command":"status","level":"debug"}')).toBe('command status takes no component or level');
    expect(parseRequest('{"command":"log-level","level":"debug"}')).toBe('a level needs a component');
    expect(parseRequest('{"command":"log-level","component":1}')).toBe('component must be a string');
    expect(parseRequest('{"command":"tunnels","query":"x"}')).toBe('command tunnels takes no query');
  });
  it('a group by name from the group file, by number as is', () => {
    const file = join(dir, 'group');
    writeFileSync(file, 'root:x:0:\nwgbgp:x:997:alice,bob\n');
    expect(resolveGroup('wgbgp', file)).toBe(997);
    expect(resolveGroup('root', file)).toBe(0);
    expect(resolveGroup('nope', file)).toBeNull();
    expect(resolveGroup(4242, file)).toBe(4242);
  });
});

describe('neighbors NAME and watch', () => {
  beforeEach(async () => {
    server = new ControlServer(handler, { path, log: silentLogger(), maxUnreadBytes: 64 * 1024 });
    await server.listen();
  });

  it('neighbors with a name: that neighbor alone, or an error naming the configured ones', async () => {
    const c = await ControlClient.connect(path);
    try {
      expect(await c.request({ command: 'neighbors', query: 'site-c' })).toMatchObject({ name: 'site-c', state: 'Active' });
      await expect(c.request({ command: 'neighbors', query: 'site-z' })).rejects.toThrow('no neighbor named "site-z" (configured: site-b, site-c)');
    } finally {
      c.close();
    }
  });

  it('watch: an ok reply, then one event per line until the client goes; then the agent forgets the watcher', async () => {
    const c = await ControlClient.connect(path);
    const seen: unknown[] = [];
    const ended = c.watch((e) => seen.push(e));
    await waitFor(() => handler.watchers === 1);
    handler.emit({ type: 'log-level', time: '2026-01-01T00:00:00.000Z', component: 'bgp', level: 'debug' });
    handler.emit({ type: 'routes', time: '2026-01-01T00:00:01.000Z', rib: 3, fib: 2, pending: 1 });
    await waitFor(() => seen.length === 2);
    expect(seen[1]).toEqual({ type: 'routes', time: '2026-01-01T00:00:01.000Z', rib: 3, fib: 2, pending: 1 });
    c.close();
    expect(await ended).toBe('client closed');
    await waitFor(() => handler.watchers === 0);
  });

  it('a watcher that stops reading is closed once 64 KiB of events wait for it, not buffered without end', async () => {
    const s = createConnection(path);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('{"command":"watch"}\n');
    await waitFor(() => handler.watchers === 1);
    s.pause();
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    const event: WatchEvent = { type: 'dataplane', time: '2026-01-01T00:00:00.000Z', state: 'degraded', detail: 'x'.repeat(1000) };
    for (let i = 0; i < 5000 && handler.watchers > 0; i++) {
      handler.emit(event);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(handler.watchers).toBe(0);
    s.destroy();
    await closed;
  });
});

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
