/**
 * The socket options that make a session safe, on loopback: GTSM (RFC 5082)
 * and TCP MD5 (RFC 2385) set before the SYN on both the listener and the
 * active side (tcp.ts), and the interface binding (SO_BINDTODEVICE). What
 * fails them is dropped by the kernel, which counts it (/proc/net/netstat).
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { BgpSession, kernelTcpDrops } from '#bgp/session/index';
import type { BgpListener, ListenBinding, SessionConfig } from '#bgp/session/index';
import { A_ID, B_ID, config, listener, Recorder, sleep, waitFor } from './helpers.js';

const sessions: BgpSession[] = [];
const listeners: BgpListener[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

/** A session that opens its own sockets (tcp.ts), as the agent's do. */
function session(cfg: SessionConfig): BgpSession {
  const s = new BgpSession(cfg, new Recorder(), { clock: new SystemClock(), log: silentLogger() });
  sessions.push(s);
  return s;
}

/** B passive behind a listener bound as `binding`; A active with `active` options. */
async function pair(binding: ListenBinding, active: Partial<SessionConfig>): Promise<{ a: BgpSession; b: BgpSession; port: number }> {
  const l = await listener();
  listeners.push(l);
  const b = session(config({ name: 'a', localAsn: 65002, routerId: B_ID, peerAsn: 65001, passive: true }));
  await l.register(b, '127.0.0.1', binding);
  const a = session(config({ name: 'b', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port: l.port, localAddress: '127.0.0.1', ...active }));
  b.start();
  a.start();
  return { a, b, port: l.port };
}

const LO: ListenBinding = { device: 'lo', localAddress: '127.0.0.1' };

describe('GTSM (RFC 5082)', () => {
  it('§3: both sides send TTL 255 and require it: the session comes up', async () => {
    const { a, b } = await pair({ ...LO, minTtl: 255 }, { minTtl: 255, interface: 'lo', bindToInterface: true });
    await waitFor(() => a.state === 'Established' && b.state === 'Established', 'Established with GTSM');
  });

  it('a SYN with TTL 64 (an ordinary socket) is dropped by the kernel before any listener sees it, and counted', async () => {
    const { port } = await pair({ ...LO, minTtl: 255 }, { passive: true });
    const before = kernelTcpDrops()?.ttlSecurity ?? 0;
    const sock = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
    sock.on('error', () => {});
    let connected = false;
    sock.on('connect', () => (connected = true));
    await sleep(1500);
    sock.destroy();
    expect(connected).toBe(false);
    expect((kernelTcpDrops()?.ttlSecurity ?? 0) - before).toBeGreaterThanOrEqual(1);
  });
});

describe('TCP MD5 (RFC 2385)', () => {
  it('the same key on both sides: Established', async () => {
    const { a, b } = await pair({ ...LO, md5Key: 'secret' }, { md5Key: 'secret' });
    await waitFor(() => a.state === 'Established' && b.state === 'Established', 'Established with MD5');
  });

  it('another key: no connection, the kernel counts the bad signatures', async () => {
    const before = kernelTcpDrops()?.md5 ?? 0;
    const { a, b } = await pair({ ...LO, md5Key: 'secret' }, { md5Key: 'not the secret' });
    await sleep(1500);
    expect(a.state).not.toBe('Established');
    expect(b.state).toBe('Active');
    expect((kernelTcpDrops()?.md5 ?? 0) - before).toBeGreaterThanOrEqual(1);
  });

  it('no key on the active side: refused the same way', async () => {
    const { a, b } = await pair({ ...LO, md5Key: 'secret' }, {});
    await sleep(1000);
    expect(a.state).not.toBe('Established');
    expect(b.state).toBe('Active');
  });
});

describe('interface binding', () => {
  it('an active session bound to a missing interface fails its attempt with the reason, and retries', async () => {
    const s = session(config({ name: 'x', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port: 1, interface: 'wgbgp-nope0', bindToInterface: true }));
    s.start();
    await waitFor(() => s.lastError !== null, 'an error');
    expect(s.lastError).toMatch(/bind to device wgbgp-nope0: ENODEV/);
  });
});
