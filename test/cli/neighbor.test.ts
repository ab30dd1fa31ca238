/**
 * `wgbgp neighbor NAME shutdown|enable|reset [--message TEXT]` against a
 * control socket, and how `neighbors` shows an administrative shutdown and a
 * peer's shutdown communication (RFC 9003).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlServer } from '#api/index';
import type { ControlHandler, NeighborAction, NeighborActionJson, NeighborJson, NeighborRefreshJson, RefreshDirection, ReloadJson, RouteJson, StatusJson, TunnelJson } from '#api/types';
import { main, type CliIo } from '#cli/main';
import { formatNeighborDetail, formatNeighbors } from '#cli/format';
import { silentLogger } from '#lib/log';
import { neighborFixture, statusFixture } from '../fixtures/api/index.js';

const NOW = new Date('2025-01-01T12:00:00Z');
const tmp = mkdtempSync(join(tmpdir(), 'wgbgp-cli-neighbor-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: () => Promise.resolve(''), now: () => NOW };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

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
    this.actions.push([name, action, message]);
    return { name, action, changed: true, state: action === 'enable' ? 'Connect' : 'Idle' };
  }
  readonly refreshes: [string, RefreshDirection | 'both'][] = [];
  neighborRefresh(name: string, direction: RefreshDirection | 'both'): NeighborRefreshJson {
    this.refreshes.push([name, direction]);
    const supported = name !== 'old-peer';
    return { name, in: direction === 'out' ? null : supported ? 'sent' : 'not-supported', out: direction === 'in' ? null : 'sent' };
  }
}

describe('wgbgp neighbor NAME refresh [--in|--out]', () => {
  it('both directions by default, one with --in or --out; exit 1 when a direction was not done', async () => {
    const handler = new Handler();
    const sock = join(tmp, 'r.sock');
    const server = new ControlServer(handler, { path: sock, log: silentLogger() });
    await server.listen();
    try {
      expect(await run(['neighbor', 'site-b', 'refresh', '--socket', sock])).toEqual({
        code: 0,
        stdout: 'site-b: asked the peer to send its routes again (ROUTE-REFRESH)\nsite-b: sending our routes to the peer again\n',
        stderr: '',
      });
      expect((await run(['neighbor', 'site-b', 'refresh', '--in', '--socket', sock])).stdout).toBe('site-b: asked the peer to send its routes again (ROUTE-REFRESH)\n');
      const out = await run(['neighbor', 'site-b', 'refresh', '--out', '--json', '--socket', sock]);
      expect(JSON.parse(out.stdout)).toEqual({ name: 'site-b', in: null, out: 'sent' });
      await run(['neighbor', 'site-b', 'refresh', '--in', '--out', '--socket', sock]);
      const old = await run(['neighbor', 'old-peer', 'refresh', '--in', '--socket', sock]);
      expect(old).toEqual({ code: 1, stdout: 'old-peer: in: not done, the peer did not advertise route refresh (RFC 2918)\n', stderr: '' });
    } finally {
      await server.close();
    }
    expect(handler.refreshes).toEqual([
      ['site-b', 'both'],
      ['site-b', 'in'],
      ['site-b', 'out'],
      ['site-b', 'both'],
      ['old-peer', 'in'],
    ]);
  });

  it('usage errors (2): --in with another action, a message with refresh', async () => {
    const r = await run(['neighbor', 'site-b', 'reset', '--in', '--socket', join(tmp, 'none.sock')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wgbgp: error: --in and --out go with refresh\n/);
    const m = await run(['neighbor', 'site-b', 'refresh', '--message', 'hi', '--socket', join(tmp, 'none.sock')]);
    expect(m.code).toBe(2);
  });
});

describe('wgbgp neighbor NAME shutdown|enable|reset', () => {
  it('sends the action and the message; says what was done (text and --json)', async () => {
    const handler = new Handler();
    const sock = join(tmp, 'a.sock');
    const server = new ControlServer(handler, { path: sock, log: silentLogger() });
    await server.listen();
    try {
      const down = await run(['neighbor', 'site-b', 'shutdown', '--message', 'fibre cut ✓', '--socket', sock]);
      expect(down).toEqual({
        code: 0,
        stdout: 'site-b: shut down (Cease/Administrative Shutdown sent with "fibre cut ✓"); stays down until `wgbgp neighbor site-b enable`\n',
        stderr: '',
      });
      const up = await run(['neighbor', 'site-b', 'enable', '--json', '--socket', sock]);
      expect(JSON.parse(up.stdout)).toEqual({ name: 'site-b', action: 'enable', changed: true, state: 'Connect' });
      const reset = await run(['neighbor', 'site-b', 'reset', '--socket', sock]);
      expect(reset.stdout).toBe('site-b: reset (Cease/Administrative Reset sent); the session comes back by itself\n');
      // RFC 9003 §3: over RFC 8203's 128 octets it is sent, with a note.
      const long = await run(['neighbor', 'site-b', 'reset', '--message', 'x'.repeat(129), '--socket', sock]);
      expect(long.code).toBe(0);
      expect(long.stderr).toBe('wgbgp: note: the message is over 128 octets; a peer that implements only RFC 8203 logs it as an error and shows none\n');
    } finally {
      await server.close();
    }
    expect(handler.actions).toEqual([
      ['site-b', 'shutdown', 'fibre cut ✓'],
      ['site-b', 'enable', undefined],
      ['site-b', 'reset', undefined],
      ['site-b', 'reset', 'x'.repeat(129)],
    ]);
  });

  it('RFC 9003 §2: a message over 255 octets of UTF-8 is a usage error (2), before the agent is asked', async () => {
    const r = await run(['neighbor', 'site-b', 'shutdown', '--message', 'ü'.repeat(128), '--socket', join(tmp, 'none.sock')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '--message <text>' argument '.*' is invalid\. the message is 256 octets of UTF-8; RFC 9003 §2 allows at most 255\./);
  });

  it('usage errors (2): an unknown action, a message with enable', async () => {
    expect((await run(['neighbor', 'site-b', 'disable'])).code).toBe(2);
    const r = await run(['neighbor', 'site-b', 'enable', '--message', 'hi', '--socket', join(tmp, 'none.sock')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wgbgp: error: --message goes with shutdown or reset, not enable\n/);
  });
});

describe('neighbors: shutdown and shutdown communications', () => {
  it('the table marks a shut-down neighbor, and shows the communication the peer sent while the session is down', () => {
    const shut = neighborFixture({ name: 'site-b', state: 'Idle', session: null, adminShutdown: { message: 'maintenance', since: '2025-01-01T11:55:00.000Z' } });
    const told = neighborFixture({
      name: 'site-c',
      interface: 'wg-site-c',
      state: 'Active',
      session: null,
      lastError: 'TCP: connection closed by peer',
      lastNotification: { direction: 'received', code: 6, subcode: 2, text: '6/2 Administrative Shutdown: "new router"', communication: 'new router', at: '2025-01-01T11:59:00.000Z' },
    });
    const out = formatNeighbors([shut, told], NOW);
    expect(out).toMatch(/site-b .* Idle \(shutdown\)/);
    expect(out).toContain('TCP: connection closed by peer');
    expect(out).toContain('peer said: "new router"');
    const detail = formatNeighborDetail(shut, NOW);
    expect(detail).toMatch(/admin: +shut down 5m00s ago, message "maintenance"/);
    expect(formatNeighborDetail(told, NOW)).toMatch(/notification: +received 6\/2 Administrative Shutdown: "new router" \(1m00s ago\)/);
  });
});

describe('neighbors: max-prefix', () => {
  it('the table marks a neighbor over its limit; the detail view has the limits, the action and when it restarts', () => {
    const n = neighborFixture({
      name: 'site-b',
      state: 'Idle',
      session: null,
      lastError: 'sent 6/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 1000',
      maxPrefix: {
        action: 'restart',
        restartAfter: 5,
        ipv4: { limit: 1000, accepted: 0 },
        ipv6: null,
        exceeded: { family: 'ipv4-unicast', limit: 1000, accepted: 1204, since: '2025-01-01T11:58:00.000Z' },
        restartAt: '2025-01-01T12:03:00.000Z',
      },
    });
    expect(formatNeighbors([n], NOW)).toMatch(/site-b .* Idle \(max-prefix\) .* sent 6\/1 Maximum Number of Prefixes Reached: ipv4-unicast limit 1000/);
    expect(formatNeighborDetail(n, NOW)).toMatch(
      /max-prefix: +ipv4 1000 \(0 accepted\), ipv6 none; restart after 5 min; ipv4-unicast limit 1000 exceeded 2m00s ago \(1204 accepted\); session down, restarts at 12:03:00 UTC/,
    );
    const fine = neighborFixture({ maxPrefix: { action: 'warning', restartAfter: null, ipv4: { limit: 2000000, accepted: 12 }, ipv6: { limit: 500000, accepted: 3 }, exceeded: null, restartAt: null } });
    expect(formatNeighborDetail(fine, NOW)).toMatch(/max-prefix: +ipv4 2000000 \(12 accepted\), ipv6 500000 \(3 accepted\); warning only\n/);
    expect(formatNeighbors([fine], NOW)).not.toContain('(max-prefix)');
  });
});

describe('neighbors NAME: route refresh', () => {
  it('the detail view shows enhanced route refresh and the refresh counters', () => {
    const n = neighborFixture({
      routeRefresh: {
        received: 3,
        lastReceived: '2025-01-01T11:59:00.000Z',
        sent: 2,
        lastSent: '2025-01-01T11:50:00.000Z',
        answered: 2,
        eorrTimeouts: 1,
        resending: ['ipv4-unicast'],
        awaitingEorr: ['ipv6-unicast'],
      },
    });
    n.session = { ...n.session!, enhancedRouteRefresh: true };
    const text = formatNeighborDetail(n, NOW);
    expect(text).toMatch(/capabilities: +.*route refresh \(enhanced, RFC 7313\)/);
    expect(text).toMatch(
      /route refresh: 2 requested \(last 10m00s ago\); 3 received \(last 1m00s ago\), 2 answered; sending ipv4-unicast again; peer resending ipv6-unicast; 1 EoRR timeout\(s\)\n/,
    );
  });
});

describe('neighbors NAME: send queue', () => {
  it('a neighbor that reads slower than the changes come: what waits, the prefixes owed, how often', () => {
    const n = neighborFixture({ sendQueue: { octets: 1_200_000, behind: true, owedPrefixes: 20000, timesBehind: 3 } });
    expect(formatNeighborDetail(n, NOW)).toMatch(/send queue: +1\.2 MB waiting; reads slower than the changes come: 20000 prefixes owed, sent as they are once it drains; behind 3 time\(s\)\n/);
    const idle = neighborFixture({ sendQueue: { octets: 0, behind: false, owedPrefixes: 0, timesBehind: 0 } });
    expect(formatNeighborDetail(idle, NOW)).not.toContain('send queue');
  });
});
