/**
 * How the listener stops (listener.ts): first no new SYN is answered, while
 * the sessions keep what they have; the handshakes answered before are found
 * in /proc/net/tcp{,6} (SYN_RECV) and waited for before the close. The stop
 * with a handshake really half done, against a GTSM peer, is
 * test/interop/stop-handshake.test.ts.
 */
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { BgpSession, pendingHandshakes } from '#bgp/session/index';
import type { BgpListener } from '#bgp/session/index';
import { A_ID, B_ID, config, listener, LOOPBACK, Recorder, sleep, waitFor } from './helpers.js';

const sessions: BgpSession[] = [];
const listeners: BgpListener[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

function session(cfg: Parameters<typeof config>[0]): BgpSession {
  const s = new BgpSession(config(cfg), new Recorder(), { clock: new SystemClock(), log: silentLogger() });
  sessions.push(s);
  return s;
}

describe('BgpListener.stopAccepting', () => {
  it('an Established session keeps its connection; a new SYN is not answered (dropped, not reset); close() then frees the port', async () => {
    const l = await listener();
    listeners.push(l);
    const b = session({ name: 'a', localAsn: 65002, routerId: B_ID, peerAsn: 65001, passive: true });
    await l.register(b, '127.0.0.1', LOOPBACK);
    const a = session({ name: 'b', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port: l.port, localAddress: '127.0.0.1' });
    b.start();
    a.start();
    await waitFor(() => a.state === 'Established' && b.state === 'Established', 'Established');

    l.stopAccepting();
    const sock = connect({ host: '127.0.0.1', port: l.port, localAddress: '127.0.0.1' });
    let outcome = 'pending';
    sock.on('connect', () => (outcome = 'connected'));
    sock.on('error', (e: NodeJS.ErrnoException) => (outcome = e.code ?? 'error'));
    await sleep(1500);
    sock.destroy();
    // A reset would be ECONNREFUSED: the SYN was dropped, the client still retrying it.
    expect(outcome).toBe('pending');
    expect(a.state).toBe('Established');
    expect(b.state).toBe('Established');

    await l.close();
    listeners.splice(0);
    const after = connect({ host: '127.0.0.1', port: l.port, localAddress: '127.0.0.1' });
    const refused = await new Promise<string>((resolve) => {
      after.on('connect', () => resolve('connected'));
      after.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    after.destroy();
    expect(refused).toBe('ECONNREFUSED');
  });
});

describe('pendingHandshakes: SYN_RECV in /proc/net/tcp{,6}', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgbgp-proc-'));
  const HEAD = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
  // Addresses are 32-bit words in host order (little-endian): 0100FF0A is 10.255.0.1.
  const tcp4 = [
    HEAD,
    // 10.255.0.0:179 LISTEN
    '   0: 0000FF0A:00B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0000000000000000 100 0 0 10 0',
    // 10.255.0.0:179 <- 10.255.0.1:40000, SYN_RECV: a handshake we answered
    '   1: 0000FF0A:00B3 0100FF0A:9C40 03 00000000:00000000 02:00000064 00000000     0        0 0 1 0000000000000000',
    // 10.255.0.2:179 <- 10.255.0.3:40001, SYN_RECV on another local address
    '   2: 0200FF0A:00B3 0300FF0A:9C41 03 00000000:00000000 02:00000064 00000000     0        0 0 1 0000000000000000',
    // 10.255.0.0:40002 -> 10.255.0.1:179, ESTABLISHED: our own connection, not a handshake
    '   3: 0000FF0A:9C42 0100FF0A:00B3 01 00000000:00000000 00:00000000 00000000     0        0 101 1 0000000000000000 20 4 30 10 -1',
  ].join('\n');
  const tcp6 = [
    HEAD,
    // [::ffff:10.255.0.0]:179 <- [::ffff:10.255.0.1]:40003, SYN_RECV on the dual-stack catch-all
    '   0: 0000000000000000FFFF00000000FF0A:00B3 0000000000000000FFFF00000100FF0A:9C43 03 00000000:00000000 02:00000064 00000000     0        0 0 1 0000000000000000',
    // [fd00:255::]:179 <- [fd00:255::1]:40004, SYN_RECV
    '   1: 550200FD000000000000000000000000:00B3 550200FD000000000000000001000000:9C44 03 00000000:00000000 02:00000064 00000000     0        0 0 1 0000000000000000',
  ].join('\n');
  const f4 = join(dir, 'tcp');
  const f6 = join(dir, 'tcp6');
  writeFileSync(f4, `${tcp4}\n`);
  writeFileSync(f6, `${tcp6}\n`);

  it('counts the handshakes to a port, IPv4 and IPv6, v4-mapped as IPv4', () => {
    try {
      expect(pendingHandshakes(179, null, [f4, f6])).toBe(4);
      expect(pendingHandshakes(179, '10.255.0.0', [f4, f6])).toBe(2);
      expect(pendingHandshakes(179, '10.255.0.2', [f4, f6])).toBe(1);
      expect(pendingHandshakes(179, 'fd00:255::', [f4, f6])).toBe(1);
      expect(pendingHandshakes(1790, null, [f4, f6])).toBe(0);
      expect(pendingHandshakes(179, null, [join(dir, 'missing')])).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
