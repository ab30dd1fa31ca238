import { describe, expect, it } from 'vitest';
import { BfdDiag, BfdState, type BfdControlPacket } from '../../src/bfd/codec.js';
import { BfdSession, SLOW_TX_US } from '../../src/bfd/session.js';

const MS = 1000;
const LOCAL = 0x1111;
const REMOTE = 0x2222;

function session(random = () => 0.5, timers = { desiredMinTx: 300 * MS, requiredMinRx: 300 * MS, detectMult: 3 }, now = 0): BfdSession {
  return new BfdSession({ localDiscriminator: LOCAL, random, ...timers }, now);
}

/** A packet from the peer. */
function peer(state: BfdState, over: Partial<BfdControlPacket> = {}): BfdControlPacket {
  return {
    diag: BfdDiag.None,
    state,
    poll: false,
    final: false,
    cpi: false,
    auth: false,
    demand: false,
    detectMult: 3,
    myDiscriminator: REMOTE,
    yourDiscriminator: state === BfdState.Down || state === BfdState.AdminDown ? 0 : LOCAL,
    desiredMinTx: state === BfdState.Up ? 300 * MS : 1000 * MS,
    requiredMinRx: 300 * MS,
    requiredMinEchoRx: 0,
    ...over,
  };
}

/** Drives a fresh session into `state`. */
function inState(state: BfdState): BfdSession {
  const s = session();
  if (state === BfdState.AdminDown) s.adminDown(0);
  if (state === BfdState.Init || state === BfdState.Up) s.receive(peer(BfdState.Down), 0);
  if (state === BfdState.Up) s.receive(peer(BfdState.Up), 0);
  expect(s.state).toBe(state);
  return s;
}

type Event = 'rx AdminDown' | 'rx Down' | 'rx Init' | 'rx Up' | 'detection time' | 'admin down' | 'enable';

function apply(s: BfdSession, e: Event): void {
  switch (e) {
    case 'rx AdminDown':
      s.receive(peer(BfdState.AdminDown, { diag: BfdDiag.AdministrativelyDown }), 1);
      return;
    case 'rx Down':
      s.receive(peer(BfdState.Down), 1);
      return;
    case 'rx Init':
      s.receive(peer(BfdState.Init), 1);
      return;
    case 'rx Up':
      s.receive(peer(BfdState.Up), 1);
      return;
    case 'detection time':
      // Init and Up heard the peer at 0 (the detection timer runs); 10 s of silence expires it.
      s.expire(10_000);
      return;
    case 'admin down':
      s.adminDown(1);
      return;
    case 'enable':
      s.enable(1);
      return;
  }
}

const S = BfdState;
/** RFC 5880 §6.2 and §6.8.6: next state for each (state, event); with the diag we then send. */
const TABLE: Record<BfdState, Record<Event, [BfdState, BfdDiag?]>> = {
  [S.AdminDown]: {
    'rx AdminDown': [S.AdminDown],
    'rx Down': [S.AdminDown],
    'rx Init': [S.AdminDown],
    'rx Up': [S.AdminDown],
    'detection time': [S.AdminDown, BfdDiag.AdministrativelyDown],
    'admin down': [S.AdminDown],
    enable: [S.Down, BfdDiag.AdministrativelyDown],
  },
  [S.Down]: {
    'rx AdminDown': [S.Down, BfdDiag.None],
    'rx Down': [S.Init],
    'rx Init': [S.Up, BfdDiag.None],
    'rx Up': [S.Down],
    'detection time': [S.Down, BfdDiag.None],
    'admin down': [S.AdminDown, BfdDiag.AdministrativelyDown],
    enable: [S.Down],
  },
  [S.Init]: {
    'rx AdminDown': [S.Down, BfdDiag.NeighborSignaledSessionDown],
    'rx Down': [S.Init],
    'rx Init': [S.Up, BfdDiag.None],
    'rx Up': [S.Up, BfdDiag.None],
    'detection time': [S.Down, BfdDiag.ControlDetectionTimeExpired],
    'admin down': [S.AdminDown, BfdDiag.AdministrativelyDown],
    enable: [S.Init],
  },
  [S.Up]: {
    'rx AdminDown': [S.Down, BfdDiag.NeighborSignaledSessionDown],
    'rx Down': [S.Down, BfdDiag.NeighborSignaledSessionDown],
    'rx Init': [S.Up],
    'rx Up': [S.Up],
    'detection time': [S.Down, BfdDiag.ControlDetectionTimeExpired],
    'admin down': [S.AdminDown, BfdDiag.AdministrativelyDown],
    enable: [S.Up],
  },
};

describe('BFD session state × event (RFC 5880 §6.2, §6.8.6)', () => {
  for (const [from, row] of Object.entries(TABLE)) {
    for (const [event, [to, diag]] of Object.entries(row)) {
      const name = BfdState[Number(from)];
      it(`${name} + ${event} -> ${BfdState[to]}${diag === undefined ? '' : ` (diag ${BfdDiag[diag]})`}`, () => {
        const s = inState(Number(from) as BfdState);
        apply(s, event as Event);
        expect(BfdState[s.state]).toBe(BfdState[to]);
        if (diag !== undefined) expect(BfdDiag[s.localDiag]).toBe(BfdDiag[diag]);
      });
    }
  }

  it('§6.8.4: Init without packets for a detection time (3 × 1 s: the peer is not Up) goes Down with diag 1', () => {
    const s = inState(S.Init);
    expect(s.expire(2999).change).toBeNull();
    const e = s.expire(3000);
    expect(e.change).toEqual({ from: S.Init, to: S.Down, diag: BfdDiag.ControlDetectionTimeExpired });
  });
});

describe('BFD timers (RFC 5880 §6.8.2–§6.8.4, §6.8.7)', () => {
  it('§6.8.3: transmits at 1 s while not Up, though 300 ms is configured', () => {
    const s = session(() => 1 - Number.EPSILON);
    const first = s.expire(0);
    expect(first.send).toHaveLength(1);
    expect(first.send[0]!.desiredMinTx).toBe(SLOW_TX_US);
    expect(first.send[0]!.yourDiscriminator).toBe(0);
    expect(s.nextDeadline()).toBeGreaterThan(999);
    expect(s.nextDeadline()).toBeLessThanOrEqual(1000);
  });

  it('§6.8.7: jitter puts each interval within 75–100 % (75–90 % with detect mult 1)', () => {
    for (const [mult, hi] of [
      [3, 1.0],
      [1, 0.9],
    ] as const) {
      for (const r of [0, 0.5, 0.999999]) {
        const s = session(() => r, { desiredMinTx: 300 * MS, requiredMinRx: 300 * MS, detectMult: mult });
        s.expire(0);
        const next = s.nextDeadline();
        expect(next).toBeGreaterThanOrEqual(750);
        expect(next).toBeLessThanOrEqual(1000 * hi);
      }
    }
  });

  it('§6.5/§6.8.3: going Up starts a Poll Sequence for the faster rate; the Final ends it', () => {
    const s = inState(S.Up);
    expect(s.pollInProgress).toBe(true);
    const tick = s.expire(s.nextDeadline());
    expect(tick.send[0]).toMatchObject({ state: S.Up, poll: true, final: false, desiredMinTx: 300 * MS, yourDiscriminator: REMOTE });
    // The faster TX applies at once (a decrease); the peer's 300 ms RX bounds it.
    expect(s.negotiated().txIntervalMs).toBe(300);
    s.receive(peer(S.Up, { final: true }), 5);
    expect(s.pollInProgress).toBe(false);
    expect(s.expire(s.nextDeadline()).send[0]!.poll).toBe(false);
  });

  it('§6.8.6: a Poll is answered at once with a Final (P clear)', () => {
    const s = inState(S.Up);
    s.receive(peer(S.Up, { final: true }), 1);
    const e = s.receive(peer(S.Up, { poll: true, desiredMinTx: 100 * MS }), 2);
    expect(e.send).toHaveLength(1);
    expect(e.send[0]).toMatchObject({ final: true, poll: false });
  });

  it('§6.8.2: TX interval is max(our Desired Min TX, the peer Required Min RX)', () => {
    const s = inState(S.Up);
    s.receive(peer(S.Up, { final: true, requiredMinRx: 500 * MS }), 1);
    expect(s.negotiated().txIntervalMs).toBe(500);
  });

  it('§6.8.4: detection time is the peer Detect Mult × max(our Required Min RX, its Desired Min TX)', () => {
    const s = inState(S.Up);
    s.receive(peer(S.Up, { final: true, detectMult: 5, desiredMinTx: 200 * MS }), 1000);
    expect(s.negotiated().detectionTimeMs).toBe(1500);
    expect(s.expire(2499).change).toBeNull();
    expect(s.expire(2500).change).toEqual({ from: S.Up, to: S.Down, diag: BfdDiag.ControlDetectionTimeExpired });
    // §6.8.1: the remote discriminator is forgotten with the detection time.
    expect(s.remoteDiscriminator).toBe(0);
    expect(s.negotiated().txIntervalMs).toBe(1000);
  });

  it('§6.8.3: a longer TX while Up waits for the Final; a shorter RX keeps the old detection time until then', () => {
    const s = inState(S.Up);
    s.receive(peer(S.Up, { final: true }), 1);
    s.setTimers({ desiredMinTx: 1000 * MS, requiredMinRx: 100 * MS, detectMult: 3 }, 2);
    expect(s.pollInProgress).toBe(true);
    expect(s.negotiated().txIntervalMs).toBe(300);
    s.receive(peer(S.Up, { desiredMinTx: 100 * MS }), 3);
    expect(s.negotiated().detectionTimeMs).toBe(900);
    s.receive(peer(S.Up, { final: true, desiredMinTx: 100 * MS, requiredMinRx: 100 * MS }), 4);
    expect(s.pollInProgress).toBe(false);
    expect(s.negotiated().txIntervalMs).toBe(1000);
    expect(s.negotiated().detectionTimeMs).toBe(300);
  });

  it('§6.8.7: no periodic packets when the peer Required Min RX is 0', () => {
    const s = inState(S.Up);
    s.receive(peer(S.Up, { final: true, requiredMinRx: 0 }), 1);
    expect(s.expire(10).send).toEqual([]);
    expect(s.negotiated().txIntervalMs).toBe(0);
  });

  it('§6.8.6: a state change is sent at once, so the three-way handshake needs no periodic tick', () => {
    const s = session();
    s.expire(0);
    const init = s.receive(peer(S.Down), 10);
    expect(init.change).toEqual({ from: S.Down, to: S.Init, diag: BfdDiag.None });
    expect(init.send[0]).toMatchObject({ state: S.Init, yourDiscriminator: REMOTE });
    const up = s.receive(peer(S.Up), 20);
    expect(up.send[0]).toMatchObject({ state: S.Up, poll: true });
  });

  it('§6.8.3/§6.8.7: going Up, the next periodic packet is due at the faster rate now advertised, not at the 1 s of before', () => {
    // The longest jitter: the next packet 100 % of the interval after the last.
    const s = session(() => 1 - Number.EPSILON);
    s.expire(0);
    expect(s.nextDeadline()).toBeGreaterThan(999);
    s.receive(peer(S.Down), 10);
    const up = s.receive(peer(S.Init), 20);
    expect(up.send[0]).toMatchObject({ state: S.Up, desiredMinTx: 300 * MS });
    // The peer now expects a packet from us every 300 ms (its detection time for us: 3 × 300 ms); the one due at
    // ~1000 would come 980 ms after this one.
    expect(s.nextDeadline()).toBeLessThanOrEqual(20 + 300);
    expect(s.nextDeadline()).toBeGreaterThanOrEqual(20 + 225);
  });

  it('a zero local discriminator is refused (§6.8.1)', () => {
    expect(() => new BfdSession({ localDiscriminator: 0, random: Math.random, desiredMinTx: 1, requiredMinRx: 1, detectMult: 3 }, 0)).toThrow(RangeError);
  });
});
