/**
 * A session that cannot come up (a dead tunnel: every attempt refused) logs
 * its first attempts at info, then goes quiet: its Idle/Connect cycle at
 * debug and one info line a minute, instead of two lines every
 * ConnectRetryTime forever (issue 8).
 */
import { createServer } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#lib/clock';
import { BgpSession } from '#bgp/session/index';
import { config, Recorder } from './helpers.js';

describe('BgpSession: retry logs are bounded', () => {
  it('after 3 failed attempts the cycle is debug, with one info summary per minute', async () => {
    // A port with nothing listening: every connect is refused at once.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) });
    const clock = new ManualClock();
    const s = new BgpSession(config({ name: 'dead', localAsn: 65001, routerId: '1.1.1.1', peerAsn: 65002, port, connectRetryTime: 5 }), new Recorder(), { clock, log });
    s.start();
    for (let i = 0; i < 30; i++) {
      // Let the refused connect report, then the 5 s restart timer fire.
      for (let k = 0; k < 20 && s.state !== 'Idle'; k++) await new Promise((r) => setTimeout(r, 5));
      clock.advance(5_000);
    }
    await s.stop();
    const info = lines.filter((l) => l.level === 30);
    const transitions = info.filter((l) => l.msg.startsWith('BGP '));
    // 30 attempts over 150 s: the first 3 loud (each Idle -> Connect -> Idle), then quiet.
    expect(transitions.length).toBeLessThanOrEqual(8);
    expect(lines.filter((l) => l.level === 20 && l.msg.startsWith('BGP ')).length).toBeGreaterThan(40);
    const summaries = info.filter((l) => l.msg.startsWith('session still not up'));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(3);
  });
});
