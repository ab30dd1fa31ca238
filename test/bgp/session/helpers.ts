import type { Socket, TcpNetConnectOpts } from 'node:net';
import { connect } from 'node:net';
import { SystemClock } from '#lib/clock';
import type { Clock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { BgpListener, BgpSession } from '#bgp/session/index';
import type { FsmState, ListenBinding, Negotiated, SessionConfig, SessionHandler } from '#bgp/session/index';
import { MessageType } from '#bgp/wire/types';
import type { UpdateMessage } from '#bgp/wire/types';

/** A SessionHandler that records everything the session tells the application. */
export class Recorder implements SessionHandler {
  readonly states: [FsmState, FsmState][] = [];
  readonly established: Negotiated[] = [];
  readonly updates: UpdateMessage[] = [];
  readonly downs: string[] = [];
  readonly refreshes: [number, number][] = [];
  onStateChange(from: FsmState, to: FsmState): void {
    this.states.push([from, to]);
  }
  onEstablished(n: Negotiated): void {
    this.established.push(n);
  }
  onUpdate(u: UpdateMessage): void {
    this.updates.push(u);
  }
  /** Every ROUTE-REFRESH the session handed on, with its RFC 7313 subtype. */
  readonly refreshMessages: { afi: number; safi: number; subtype: number }[] = [];
  onRouteRefresh(afi: number, safi: number, subtype: number): void {
    this.refreshes.push([afi, safi]);
    this.refreshMessages.push({ afi, safi, subtype });
  }
  onDown(reason: string): void {
    this.downs.push(reason);
  }
}

/** Polls until `pred` holds (real time: sockets are real). */
export async function waitFor(pred: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const A_ID = '1.1.1.1';
export const B_ID = '2.2.2.2';

export function config(over: Partial<SessionConfig> & Pick<SessionConfig, 'name' | 'localAsn' | 'peerAsn' | 'routerId'>): SessionConfig {
  return {
    peerAddress: '127.0.0.1',
    holdTime: 90,
    passive: false,
    connectRetryTime: 1,
    families: [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ],
    ...over,
  };
}

export interface Side {
  session: BgpSession;
  rec: Recorder;
  /** Sockets this side dialled (to see which connection survives a collision). */
  dialled: Socket[];
}

export function side(cfg: SessionConfig, clock: Clock = new SystemClock()): Side {
  const rec = new Recorder();
  const dialled: Socket[] = [];
  const session = new BgpSession(cfg, rec, {
    clock,
    log: silentLogger(),
    connect: (o: TcpNetConnectOpts) => {
      const s = connect(o);
      dialled.push(s);
      return s;
    },
  });
  return { session, rec, dialled };
}

/** Sessions on loopback are bound to `lo` like the agent binds them to a tunnel. */
export const LOOPBACK: ListenBinding = { device: 'lo', localAddress: '127.0.0.1' };

export async function listener(): Promise<BgpListener> {
  const l = new BgpListener({ log: silentLogger() }, { port: 0 });
  await l.listen();
  return l;
}

export function ipv4Update(prefix: string, asn: number): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [asn] }], nextHop: '192.0.2.1' },
    nlri: [prefix],
  };
}

export function ipv6Update(prefix: string, asn: number): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [asn] }] },
    nlri: [],
    mpReach: { afi: 2, safi: 1, nextHops: ['fd00::1'], nlri: [prefix] },
  };
}
