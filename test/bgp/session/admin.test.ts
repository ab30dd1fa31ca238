/**
 * The session's administrative stops over loopback TCP: Cease/Administrative
 * Shutdown and Reset with an RFC 9003 shutdown communication (RFC 4486
 * subcodes 2 and 4), a Cease the application chooses (max-prefix, RFC 4486 §4),
 * and a malformed communication received from a raw peer (RFC 9003 §4).
 */
import { Writable } from 'node:stream';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SystemClock } from '#lib/clock';
import { BgpSession, type BgpListener } from '#bgp/session/index';
import { buildOpen, encodeMaxPrefixData, encodeMessage, MessageFramer, decodeMessage } from '#bgp/wire/index';
import { MessageType } from '#bgp/wire/types';
import { A_ID, B_ID, LOOPBACK, Recorder, config, listener, side, sleep, waitFor } from './helpers.js';
import { loadVector } from '../wire/vectors.js';

const sessions: BgpSession[] = [];
const listeners: BgpListener[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  for (const s of servers.splice(0)) s.close();
});

/** A dials B (connect-retry 1 s); B is passive behind a listener. */
async function pair() {
  const l = await listener();
  listeners.push(l);
  const a = side(config({ name: 'b', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port: l.port }));
  const b = side(config({ name: 'a', localAsn: 65002, routerId: B_ID, peerAsn: 65001, passive: true }));
  sessions.push(a.session, b.session);
  await l.register(b.session, '127.0.0.1', LOOPBACK);
  b.session.start();
  a.session.start();
  await waitFor(() => a.session.state === 'Established' && b.session.state === 'Established', 'Established');
  return { a, b };
}

describe('administrative stops (RFC 4486, RFC 9003)', () => {
  it('RFC 4486 subcode 2: stop(message) sends the communication, records it both sides, and stays down past ConnectRetryTime until start()', async () => {
    const { a, b } = await pair();
    await a.session.stop('fibre cut, back at 18:00 ✓');
    await waitFor(() => b.rec.downs.length === 1, 'B down');
    expect(b.rec.downs[0]).toBe('received 6/2 Administrative Shutdown: "fibre cut, back at 18:00 ✓"');
    expect(a.session.lastNotification).toMatchObject({ direction: 'sent', code: 6, subcode: 2 });
    expect(b.session.lastNotification).toMatchObject({ direction: 'received', code: 6, subcode: 2 });
    expect(Buffer.from(b.session.lastNotification!.data).subarray(1).toString()).toBe('fibre cut, back at 18:00 ✓');
    // ConnectRetryTime is 1 s: a stopped session does not come back by itself.
    await sleep(1_500);
    expect(a.session.state).toBe('Idle');
    expect(a.rec.established).toHaveLength(1);
    a.session.start();
    await waitFor(() => a.session.state === 'Established' && b.session.state === 'Established', 'Established again');
    expect(a.rec.established).toHaveLength(2);
  });

  it('RFC 4486 subcode 4: reset(message) sends Cease/Administrative Reset with the communication and the session comes back by itself', async () => {
    const { a, b } = await pair();
    await a.session.reset('new import policy');
    expect(a.session.lastError).toBe('sent 6/4 Administrative Reset: "new import policy"');
    await waitFor(() => b.rec.downs.length === 1, 'B down');
    expect(b.rec.downs[0]).toBe('received 6/4 Administrative Reset: "new import policy"');
    await waitFor(() => a.rec.established.length === 2 && b.session.state === 'Established', 'back after ConnectRetryTime');
  });

  it('RFC 4486 §4: cease(1, data) sends Maximum Number of Prefixes Reached with family and limit, and stays down', async () => {
    const { a, b } = await pair();
    await a.session.cease(1, encodeMaxPrefixData({ afi: 2, safi: 1, limit: 500 }));
    await waitFor(() => b.rec.downs.length === 1, 'B down');
    expect(b.rec.downs[0]).toBe('received 6/1 Maximum Number of Prefixes Reached: ipv6-unicast limit 500');
    await sleep(1_500);
    expect(a.session.state).toBe('Idle');
  });
});

describe('RFC 9003 §4: a malformed shutdown communication received', () => {
  it('is logged and ignored: the Cease ends the session, no communication is shown', async () => {
    const vector = loadVector('notification/admin-shutdown-overrun.hex');
    // A raw peer: answers the OPEN, confirms, then sends the vector's NOTIFICATION.
    const server = createServer((sock) => {
      const framer = new MessageFramer();
      sock.on('error', () => {});
      sock.on('data', (chunk: Buffer) => {
        for (const f of framer.push(chunk)) {
          const m = decodeMessage(f, { fourOctetAs: true }).message;
          if (m.type === MessageType.Open) {
            sock.write(encodeMessage(buildOpen({ asn: 65002, holdTime: 90, bgpId: B_ID, families: [{ afi: 1, safi: 1 }] }), { fourOctetAs: true }));
            sock.write(encodeMessage({ type: MessageType.Keepalive }, { fourOctetAs: true }));
          } else if (m.type === MessageType.Keepalive) {
            sock.write(vector);
          }
        }
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => { lines.push(c.toString()); cb(); } }));
    const rec = new Recorder();
    const s = new BgpSession(config({ name: 'raw', localAsn: 65001, routerId: A_ID, peerAsn: 65002, port: (server.address() as AddressInfo).port }), rec, {
      clock: new SystemClock(),
      log,
    });
    sessions.push(s);
    s.start();
    await waitFor(() => rec.downs.length === 1, 'the Cease');
    expect(rec.downs[0]).toBe('received 6/2 Administrative Shutdown');
    expect(s.lastNotification).toMatchObject({ direction: 'received', code: 6, subcode: 2 });
    const problem = lines.map((l) => JSON.parse(l) as { msg: string; problem?: string }).find((l) => l.msg === 'malformed shutdown communication ignored');
    expect(problem?.problem).toMatch(/length 32 overruns the 5 octet\(s\) after it \(RFC 9003 §4\)/);
  });
});
