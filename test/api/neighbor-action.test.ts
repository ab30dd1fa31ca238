/**
 * The control socket's `neighbor` command (`wgbgp neighbor NAME
 * shutdown|enable|reset [--message TEXT]`): its request shape, and that it is
 * a changing command, for root (or control.admin-group) only, like reload.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient, ControlServer, isChanging, parseRequest } from '#api/index';
import type { ControlHandler, NeighborAction, NeighborActionJson, NeighborJson, ReloadJson, RouteJson, StatusJson, TunnelJson } from '#api/types';
import { silentLogger } from '#lib/log';
import { statusFixture } from '../fixtures/api/index.js';

const NOBODY = 65534;
const OPERATORS = 4242;
const needRoot = process.getuid?.() === 0 || process.env.CI === 'true' ? it : it.skip;

class Handler implements ControlHandler {
  readonly actions: [string, NeighborAction, string | undefined][] = [];
  status(): StatusJson {
    return statusFixture();
  }
  neighbors(): NeighborJson[] {
    return [];
  }
  routes(): RouteJson[] {
    return [];
  }
  async tunnels(): Promise<TunnelJson[]> {
    return [];
  }
  async reload(): Promise<ReloadJson> {
    return { ok: true, errors: [], added: [], removed: [], changed: [] };
  }
  async neighborAction(name: string, action: NeighborAction, message?: string): Promise<NeighborActionJson> {
    if (name !== 'site-b') throw new Error(`no BGP neighbor named ${JSON.stringify(name)}`);
    this.actions.push([name, action, message]);
    return { name, action, changed: true, state: 'Idle' };
  }
}

let dir = '';
let server: ControlServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function serve(handler: Handler): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), 'wgbgp-neighbor-action-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'control.sock');
  server = new ControlServer(handler, { path, log: silentLogger(), access: { group: OPERATORS, adminGroup: null } });
  await server.listen();
  return path;
}

describe('the neighbor command', () => {
  it('takes a name, an action and (with shutdown or reset) a message; nothing else', () => {
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"shutdown","message":"maintenance"}')).toEqual({
      command: 'neighbor',
      query: 'site-b',
      action: 'shutdown',
      message: 'maintenance',
    });
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"enable"}')).toEqual({ command: 'neighbor', query: 'site-b', action: 'enable' });
    expect(parseRequest('{"command":"neighbor","action":"enable"}')).toBe("command neighbor needs a query (the neighbor's name)");
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"disable"}')).toBe('command neighbor needs an action (one of shutdown, enable, reset, refresh)');
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"enable","message":"x"}')).toBe('action enable takes no message');
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"reset","message":7}')).toBe('message must be a string');
    expect(parseRequest('{"command":"status","action":"shutdown"}')).toBe('command status takes no action or message');
  });

  it('refresh takes an optional direction (in or out) and no message', () => {
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"refresh"}')).toEqual({ command: 'neighbor', query: 'site-b', action: 'refresh' });
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"refresh","direction":"in"}')).toEqual({
      command: 'neighbor',
      query: 'site-b',
      action: 'refresh',
      direction: 'in',
    });
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"refresh","direction":"up"}')).toBe('direction must be "in" or "out"');
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"refresh","message":"x"}')).toBe('action refresh takes no message');
    expect(parseRequest('{"command":"neighbor","query":"site-b","action":"reset","direction":"in"}')).toBe('action reset takes no direction');
    expect(parseRequest('{"command":"status","direction":"in"}')).toBe('command status takes no direction');
    expect(isChanging({ command: 'neighbor', query: 'site-b', action: 'refresh' })).toBe(true);
  });

  it('changes the agent: for root and control.admin-group only, like reload', () => {
    expect(isChanging({ command: 'neighbor', query: 'site-b', action: 'enable' })).toBe(true);
  });

  it("root's request reaches the agent with its message; the agent's error comes back as the reply", async () => {
    const handler = new Handler();
    const c = await ControlClient.connect(await serve(handler));
    try {
      expect(await c.request({ command: 'neighbor', query: 'site-b', action: 'shutdown', message: 'fibre cut' })).toEqual({
        name: 'site-b',
        action: 'shutdown',
        changed: true,
        state: 'Idle',
      });
      await expect(c.request({ command: 'neighbor', query: 'site-x', action: 'enable' })).rejects.toThrow('no BGP neighbor named "site-x"');
    } finally {
      c.close();
    }
    expect(handler.actions).toEqual([['site-b', 'shutdown', 'fibre cut']]);
  });

  needRoot('a member of control.group may not shut a neighbor down', async () => {
    const handler = new Handler();
    const path = await serve(handler);
    const script = `
      const s = require('node:net').createConnection(process.argv[1]);
      s.on('connect', () => s.write(JSON.stringify({ command: 'neighbor', query: 'site-b', action: 'shutdown' }) + '\\n'));
      s.on('data', (d) => { process.stdout.write(String(d)); process.exit(0); });`;
    const r = await promisify(execFile)(process.execPath, ['-e', script, path], { uid: NOBODY, gid: OPERATORS, encoding: 'utf8', timeout: 10_000 });
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: 'permission denied: neighbor shutdown is for root' });
    expect(handler.actions).toEqual([]);
  });
});
