/**
 * systemd notifications (sd_notify(3)) against a real $NOTIFY_SOCKET: an
 * AF_UNIX datagram socket this test binds (through koffi, as systemd's own
 * is), and the real agent in a namespace of its own: READY=1 with STATUS=,
 * WATCHDOG=1 while $WATCHDOG_USEC asks for it, RELOADING=1 with
 * MONOTONIC_USEC= then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { afterAll, describe, expect, it } from 'vitest';
import { SystemdNotifier, sdNotify } from '#agent/sd-notify';
import { statusLine } from '#agent/index';
import { generatePrivateKey } from '#wg/keys';
import { TestNetns } from '../netlink/netns.js';
import { CLI } from '../lab/helpers/agents.js';

/** A datagram socket bound at `path`, read without blocking. */
class NotifyListener {
  private readonly fd: number;
  private readonly c = koffi.load('libc.so.6');
  private readonly recv = this.c.func('long recv(int, void *, size_t, int)') as (fd: number, b: Buffer, n: number, f: number) => number;
  private readonly close = this.c.func('int close(int)') as (fd: number) => number;
  readonly messages: string[] = [];

  constructor(readonly path: string) {
    const socket = this.c.func('int socket(int, int, int)') as (d: number, t: number, p: number) => number;
    const bind = this.c.func('int bind(int, const void *, uint32_t)') as (fd: number, a: Buffer, n: number) => number;
    this.fd = socket(1, 2 | 0o4000 | 0o2000000, 0); // AF_UNIX, SOCK_DGRAM | NONBLOCK | CLOEXEC
    const name = Buffer.from(path);
    const addr = Buffer.alloc(2 + name.length + 1);
    addr.writeUInt16LE(1, 0);
    name.copy(addr, 2);
    if (this.fd < 0 || bind(this.fd, addr, addr.length) < 0) throw new Error(`cannot bind ${path}`);
  }

  /** Reads what has arrived. */
  drain(): string[] {
    const buf = Buffer.alloc(4096);
    for (;;) {
      const n = this.recv(this.fd, buf, buf.length, 0x40);
      if (n < 0) break;
      this.messages.push(buf.subarray(0, n).toString());
    }
    return this.messages;
  }

  async until(pred: (m: string[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this.drain())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  shut(): void {
    this.close(this.fd);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'wgbgp-notify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sd_notify against a real $NOTIFY_SOCKET', () => {
  it('sdNotify sends one datagram; SystemdNotifier sends STATUS= only when it changed, and MONOTONIC_USEC= with RELOADING=1', () => {
    const l = new NotifyListener(join(dir, 'unit.sock'));
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = l.path;
    try {
      expect(sdNotify('READY=1')).toBe(true);
      const n = new SystemdNotifier();
      n.ready('0/1 neighbors Established, 0 routes in FIB, dataplane ok');
      n.status('0/1 neighbors Established, 0 routes in FIB, dataplane ok');
      n.status('1/1 neighbors Established, 2 routes in FIB, dataplane ok');
      n.reloading();
      expect(n.startWatchdog({ WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }, 2)).toBeNull();
      expect(n.startWatchdog({ WATCHDOG_USEC: '1000000' }, 2)).toBe(500);
      n.stopping();
      const m = l.drain();
      expect(m.slice(0, 4)).toEqual([
        'READY=1',
        'READY=1\nSTATUS=0/1 neighbors Established, 0 routes in FIB, dataplane ok',
        'STATUS=1/1 neighbors Established, 2 routes in FIB, dataplane ok',
        expect.stringMatching(/^RELOADING=1\nMONOTONIC_USEC=\d+$/),
      ]);
      expect(m.slice(4)).toEqual(['WATCHDOG=1', 'STOPPING=1']);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
      l.shut();
    }
  });

  it('statusLine: the one line `systemctl status` shows', () => {
    expect(
      statusLine({
        version: '0.1.0',
        asn: 65001,
        routerId: '192.0.2.1',
        uptimeSeconds: 1,
        dataplane: { wireguard: 'vpp', fib: 'vpp', state: 'degraded', detail: 'linux-cp plugin not loaded' },
        neighbors: { total: 4, established: 3, down: 1 },
        routes: { rib: 812_004, fib: 812_000 },
        bgp: { port: 179, refused: { total: 0, notThroughTunnel: 0, wrongSource: 0, lastSource: null }, kernelDrops: null },
      }),
    ).toBe('3/4 neighbors Established, 812000 routes in FIB, dataplane degraded (linux-cp plugin not loaded)');
  });

  it('the agent: READY=1 + STATUS=, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM', async () => {
    const ns = TestNetns.create();
    const l = new NotifyListener(join(dir, 'agent.sock'));
    writeFileSync(join(dir, 'private.key'), `${generatePrivateKey()}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, 'wgbgp.yaml'),
      [
        'router: { asn: 65001, router-id: 192.0.2.1 }',
        `control: { socket: ${join(dir, 'control.sock')} }`,
        'dataplane: { wireguard: wireguard-go, fib: none }',
        'wireguard: { private-key-file: private.key }',
        'announce: [10.1.0.0/24]',
        'neighbors: []',
        '',
      ].join('\n'),
    );
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, CLI, 'agent', '--config', join(dir, 'wgbgp.yaml')], {
      env: { ...process.env, NOTIFY_SOCKET: l.path, WATCHDOG_USEC: '400000' },
      stdio: 'ignore',
    });
    try {
      await l.until((m) => m.some((x) => x.startsWith('READY=1\nSTATUS=')), 'READY=1');
      expect(l.messages.find((x) => x.startsWith('READY=1'))).toBe('READY=1\nSTATUS=0/0 neighbors Established, 0 routes in FIB, dataplane ok');
      await l.until((m) => m.filter((x) => x === 'WATCHDOG=1').length >= 3, 'three WATCHDOG=1 (every 200 ms)', 5_000);
      child.kill('SIGHUP');
      await l.until((m) => m.some((x) => x.startsWith('RELOADING=1')), 'RELOADING=1');
      const reloading = l.messages.findIndex((x) => x.startsWith('RELOADING=1'));
      expect(l.messages[reloading]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
      await l.until((m) => m.slice(reloading + 1).some((x) => x.startsWith('READY=1')), 'READY=1 after the reload');
      child.kill('SIGTERM');
      await l.until((m) => m.includes('STOPPING=1'), 'STOPPING=1');
      await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      expect(child.exitCode).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      l.shut();
      ns.destroy();
    }
  }, 30_000);
});
