import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fsmStep, FSM_EVENT_TYPES, FSM_STATES } from '#bgp/fsm/index';
import type { FsmAction, FsmEvent, FsmEventType, FsmOptions, FsmState } from '#bgp/fsm/index';

const OPTS: FsmOptions = { connectRetryTime: 5, negotiatedHoldTime: 90, passive: false };

/** One representative event of each type (payloads chosen so the table can name them). */
function sample(type: FsmEventType): FsmEvent {
  switch (type) {
    case 'BGPOpen':
      return { type, holdTime: 90 };
    case 'BGPHeaderErr':
      return { type, notification: { code: 1, subcode: 2, data: new Uint8Array([0, 99]) } };
    case 'BGPOpenMsgErr':
      return { type, notification: { code: 2, subcode: 2, data: new Uint8Array(0) } };
    case 'UpdateMsgErr':
      return { type, notification: { code: 3, subcode: 1, data: new Uint8Array(0) } };
    case 'AutomaticStop':
      return { type, subcode: 1 };
    default:
      return { type } as FsmEvent;
  }
}

/** Actions as short text so a table row reads like the RFC's bullet list. */
function describeAction(a: FsmAction): string {
  switch (a.type) {
    case 'connect':
      return 'connect';
    case 'drop-connection':
      return 'drop';
    case 'send-open':
      return 'send OPEN';
    case 'send-keepalive':
      return 'send KEEPALIVE';
    case 'send-notification':
      return `send NOTIFICATION ${a.code}/${a.subcode}`;
    case 'start-timer':
      return `start ${a.which} ${a.seconds}`;
    case 'stop-timer':
      return `stop ${a.which}`;
    case 'process-update':
      return 'process UPDATE';
    case 'process-route-refresh':
      return 'process ROUTE-REFRESH';
    case 'established':
      return 'established';
    case 'session-down':
      return 'session down';
    case 'increment-connect-retry-counter':
      return 'retry+1';
    case 'reset-connect-retry-counter':
      return 'retry=0';
  }
}

type Row = [FsmState, string[]];

const STAY = (s: FsmState, ...actions: string[]): Row => [s, actions];

/** Every §8.2.2 path to Idle: NOTIFICATION (if any), drop, all timers stopped, counter, routes withdrawn. */
function IDLE(o: { notify?: string; retry: '+1' | '=0' | 'keep'; down?: boolean }): Row {
  return [
    'Idle',
    [
      ...(o.notify ? [`send NOTIFICATION ${o.notify}`] : []),
      'drop',
      'stop connect-retry',
      'stop hold',
      'stop keepalive',
      ...(o.retry === '+1' ? ['retry+1'] : o.retry === '=0' ? ['retry=0'] : []),
      ...(o.down ? ['session down'] : []),
    ],
  ];
}

const TO_OPENSENT: Row = ['OpenSent', ['stop connect-retry', 'send OPEN', 'start hold 240']];

/** The whole machine: the type demands a row for every (state, event) pair. */
const TABLE: Record<FsmState, Record<FsmEventType, Row>> = {
  Idle: {
    ManualStart: ['Connect', ['retry=0', 'start connect-retry 5', 'connect']],
    AutomaticStart: ['Connect', ['retry=0', 'start connect-retry 5', 'connect']],
    ManualStart_with_PassiveTcpEstablishment: ['Active', ['retry=0', 'start connect-retry 5']],
    AutomaticStart_with_PassiveTcpEstablishment: ['Active', ['retry=0', 'start connect-retry 5']],
    ManualStop: STAY('Idle'),
    AutomaticStop: STAY('Idle'),
    ConnectRetryTimer_Expires: STAY('Idle'),
    HoldTimer_Expires: STAY('Idle'),
    KeepaliveTimer_Expires: STAY('Idle'),
    Tcp_CR_Acked: STAY('Idle'),
    TcpConnectionConfirmed: STAY('Idle'),
    TcpConnectionFails: STAY('Idle'),
    BGPOpen: STAY('Idle'),
    BGPHeaderErr: STAY('Idle'),
    BGPOpenMsgErr: STAY('Idle'),
    OpenCollisionDump: STAY('Idle'),
    NotifMsgVerErr: STAY('Idle'),
    NotifMsg: STAY('Idle'),
    KeepAliveMsg: STAY('Idle'),
    UpdateMsg: STAY('Idle'),
    UpdateMsgErr: STAY('Idle'),
    RouteRefreshMsg: STAY('Idle'),
  },
  Connect: {
    ManualStart: STAY('Connect'),
    AutomaticStart: STAY('Connect'),
    ManualStart_with_PassiveTcpEstablishment: STAY('Connect'),
    AutomaticStart_with_PassiveTcpEstablishment: STAY('Connect'),
    ManualStop: IDLE({ retry: '=0' }),
    AutomaticStop: IDLE({ retry: '+1' }),
    ConnectRetryTimer_Expires: STAY('Connect', 'drop', 'start connect-retry 5', 'connect'),
    HoldTimer_Expires: IDLE({ retry: '+1' }),
    KeepaliveTimer_Expires: IDLE({ retry: '+1' }),
    Tcp_CR_Acked: TO_OPENSENT,
    TcpConnectionConfirmed: TO_OPENSENT,
    TcpConnectionFails: IDLE({ retry: 'keep' }),
    BGPOpen: IDLE({ retry: '+1' }),
    BGPHeaderErr: IDLE({ retry: '+1' }),
    BGPOpenMsgErr: IDLE({ retry: '+1' }),
    OpenCollisionDump: IDLE({ retry: '+1' }),
    NotifMsgVerErr: IDLE({ retry: '+1' }),
    NotifMsg: IDLE({ retry: '+1' }),
    KeepAliveMsg: IDLE({ retry: '+1' }),
    UpdateMsg: IDLE({ retry: '+1' }),
    UpdateMsgErr: IDLE({ retry: '+1' }),
    RouteRefreshMsg: IDLE({ retry: '+1' }),
  },
  Active: {
    ManualStart: STAY('Active'),
    AutomaticStart: STAY('Active'),
    ManualStart_with_PassiveTcpEstablishment: STAY('Active'),
    AutomaticStart_with_PassiveTcpEstablishment: STAY('Active'),
    ManualStop: IDLE({ retry: '=0' }),
    AutomaticStop: IDLE({ retry: '+1' }),
    ConnectRetryTimer_Expires: ['Connect', ['start connect-retry 5', 'connect']],
    HoldTimer_Expires: IDLE({ retry: '+1' }),
    KeepaliveTimer_Expires: IDLE({ retry: '+1' }),
    Tcp_CR_Acked: TO_OPENSENT,
    TcpConnectionConfirmed: TO_OPENSENT,
    TcpConnectionFails: IDLE({ retry: '+1' }),
    BGPOpen: IDLE({ retry: '+1' }),
    BGPHeaderErr: IDLE({ retry: '+1' }),
    BGPOpenMsgErr: IDLE({ retry: '+1' }),
    OpenCollisionDump: IDLE({ retry: '+1' }),
    NotifMsgVerErr: IDLE({ retry: '+1' }),
    NotifMsg: IDLE({ retry: '+1' }),
    KeepAliveMsg: IDLE({ retry: '+1' }),
    UpdateMsg: IDLE({ retry: '+1' }),
    UpdateMsgErr: IDLE({ retry: '+1' }),
    RouteRefreshMsg: IDLE({ retry: '+1' }),
  },
  OpenSent: {
    ManualStart: STAY('OpenSent'),
    AutomaticStart: STAY('OpenSent'),
    ManualStart_with_PassiveTcpEstablishment: STAY('OpenSent'),
    AutomaticStart_with_PassiveTcpEstablishment: STAY('OpenSent'),
    ManualStop: IDLE({ notify: '6/2', retry: '=0' }),
    AutomaticStop: IDLE({ notify: '6/1', retry: '+1' }),
    ConnectRetryTimer_Expires: IDLE({ notify: '5/0', retry: '+1' }),
    HoldTimer_Expires: IDLE({ notify: '4/0', retry: '+1' }),
    KeepaliveTimer_Expires: IDLE({ notify: '5/0', retry: '+1' }),
    Tcp_CR_Acked: STAY('OpenSent'),
    TcpConnectionConfirmed: STAY('OpenSent'),
    TcpConnectionFails: ['Active', ['drop', 'stop hold', 'start connect-retry 5']],
    BGPOpen: ['OpenConfirm', ['stop connect-retry', 'send KEEPALIVE', 'start hold 90', 'start keepalive 30']],
    BGPHeaderErr: IDLE({ notify: '1/2', retry: '+1' }),
    BGPOpenMsgErr: IDLE({ notify: '2/2', retry: '+1' }),
    OpenCollisionDump: IDLE({ notify: '6/7', retry: '+1' }),
    NotifMsgVerErr: IDLE({ retry: 'keep' }),
    NotifMsg: IDLE({ retry: '+1' }),
    KeepAliveMsg: IDLE({ notify: '5/1', retry: '+1' }),
    UpdateMsg: IDLE({ notify: '5/1', retry: '+1' }),
    UpdateMsgErr: IDLE({ notify: '5/1', retry: '+1' }),
    RouteRefreshMsg: IDLE({ notify: '5/1', retry: '+1' }),
  },
  OpenConfirm: {
    ManualStart: STAY('OpenConfirm'),
    AutomaticStart: STAY('OpenConfirm'),
    ManualStart_with_PassiveTcpEstablishment: STAY('OpenConfirm'),
    AutomaticStart_with_PassiveTcpEstablishment: STAY('OpenConfirm'),
    ManualStop: IDLE({ notify: '6/2', retry: '=0' }),
    AutomaticStop: IDLE({ notify: '6/1', retry: '+1' }),
    ConnectRetryTimer_Expires: IDLE({ notify: '5/0', retry: '+1' }),
    HoldTimer_Expires: IDLE({ notify: '4/0', retry: '+1' }),
    KeepaliveTimer_Expires: STAY('OpenConfirm', 'send KEEPALIVE', 'start keepalive 30'),
    Tcp_CR_Acked: STAY('OpenConfirm'),
    TcpConnectionConfirmed: STAY('OpenConfirm'),
    TcpConnectionFails: IDLE({ retry: '+1' }),
    BGPOpen: IDLE({ notify: '5/2', retry: '+1' }),
    BGPHeaderErr: IDLE({ notify: '1/2', retry: '+1' }),
    BGPOpenMsgErr: IDLE({ notify: '2/2', retry: '+1' }),
    OpenCollisionDump: IDLE({ notify: '6/7', retry: '+1' }),
    NotifMsgVerErr: IDLE({ retry: 'keep' }),
    NotifMsg: IDLE({ retry: '+1' }),
    KeepAliveMsg: ['Established', ['start hold 90', 'established']],
    UpdateMsg: IDLE({ notify: '5/2', retry: '+1' }),
    UpdateMsgErr: IDLE({ notify: '5/2', retry: '+1' }),
    RouteRefreshMsg: IDLE({ notify: '5/2', retry: '+1' }),
  },
  Established: {
    ManualStart: STAY('Established'),
    AutomaticStart: STAY('Established'),
    ManualStart_with_PassiveTcpEstablishment: STAY('Established'),
    AutomaticStart_with_PassiveTcpEstablishment: STAY('Established'),
    ManualStop: IDLE({ notify: '6/2', retry: '=0', down: true }),
    AutomaticStop: IDLE({ notify: '6/1', retry: '+1', down: true }),
    ConnectRetryTimer_Expires: IDLE({ notify: '5/0', retry: '+1', down: true }),
    HoldTimer_Expires: IDLE({ notify: '4/0', retry: '+1', down: true }),
    KeepaliveTimer_Expires: STAY('Established', 'send KEEPALIVE', 'start keepalive 30'),
    Tcp_CR_Acked: STAY('Established'),
    TcpConnectionConfirmed: STAY('Established'),
    TcpConnectionFails: IDLE({ retry: '+1', down: true }),
    BGPOpen: IDLE({ notify: '5/3', retry: '+1', down: true }),
    BGPHeaderErr: IDLE({ notify: '1/2', retry: '+1', down: true }),
    BGPOpenMsgErr: IDLE({ notify: '5/3', retry: '+1', down: true }),
    OpenCollisionDump: IDLE({ notify: '6/7', retry: '+1', down: true }),
    NotifMsgVerErr: IDLE({ retry: '+1', down: true }),
    NotifMsg: IDLE({ retry: '+1', down: true }),
    KeepAliveMsg: STAY('Established', 'start hold 90'),
    UpdateMsg: STAY('Established', 'process UPDATE', 'start hold 90'),
    UpdateMsgErr: IDLE({ notify: '3/1', retry: '+1', down: true }),
    RouteRefreshMsg: STAY('Established', 'process ROUTE-REFRESH'),
  },
};

describe('RFC 4271 §8.2.2 state × event table', () => {
  it('has a row for every (state, event) pair', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...FSM_STATES].sort());
    for (const s of FSM_STATES) expect(Object.keys(TABLE[s]).sort()).toEqual([...FSM_EVENT_TYPES].sort());
  });

  for (const state of FSM_STATES) {
    describe(`§8.2.2 ${state}`, () => {
      for (const event of FSM_EVENT_TYPES) {
        const [next, actions] = TABLE[state][event];
        it(`§8.2.2 ${state} + ${event} -> ${next}${actions.length ? `: ${actions.join(', ')}` : ''}`, () => {
          const r = fsmStep(state, sample(event), OPTS);
          expect(r.state).toBe(next);
          expect(r.actions.map(describeAction)).toEqual(actions);
        });
      }
    });
  }
});

/** Runs events through the machine, collecting the visited states and all actions. */
function run(events: FsmEvent[], opts: FsmOptions = OPTS, from: FsmState = 'Idle') {
  let state = from;
  const states: FsmState[] = [];
  const actions: string[] = [];
  for (const e of events) {
    const r = fsmStep(state, e, opts);
    state = r.state;
    states.push(state);
    actions.push(...r.actions.map(describeAction));
  }
  return { state, states, actions };
}

describe('RFC 4271 §8.2.2 sequences', () => {
  it('§8.2.2 an active session reaches Established and a hold timer expiry takes it down with 4/0', () => {
    const r = run([
      { type: 'AutomaticStart' },
      { type: 'Tcp_CR_Acked' },
      { type: 'BGPOpen', holdTime: 90 },
      { type: 'KeepAliveMsg' },
      { type: 'UpdateMsg' },
      { type: 'HoldTimer_Expires' },
    ]);
    expect(r.states).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established', 'Established', 'Idle']);
    expect(r.actions).toContain('established');
    expect(r.actions).toContain('process UPDATE');
    expect(r.actions.slice(-7)).toEqual([
      'send NOTIFICATION 4/0',
      'drop',
      'stop connect-retry',
      'stop hold',
      'stop keepalive',
      'retry+1',
      'session down',
    ]);
  });

  it('§8.2.2 a passive (never initiating) session waits in Active and never connects', () => {
    const opts = { ...OPTS, passive: true };
    const r = run(
      [
        { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
        { type: 'ConnectRetryTimer_Expires' },
        { type: 'TcpConnectionConfirmed' },
        { type: 'TcpConnectionFails' },
      ],
      opts,
    );
    expect(r.states).toEqual(['Active', 'Active', 'OpenSent', 'Active']);
    expect(r.actions).not.toContain('connect');
    expect(r.actions.filter((a) => a.startsWith('start connect-retry'))).toEqual([]);
  });

  it('§8.2.2 Connect: a passive flip abandons the attempt and waits in Active', () => {
    const r = fsmStep('Connect', { type: 'ConnectRetryTimer_Expires' }, { ...OPTS, passive: true });
    expect(r.state).toBe('Active');
    expect(r.actions.map(describeAction)).toEqual(['drop', 'stop connect-retry']);
  });

  it('§8.2.2 OpenSent: a lost connection falls back to Active, then retries in Connect', () => {
    const r = run([{ type: 'TcpConnectionFails' }, { type: 'ConnectRetryTimer_Expires' }], OPTS, 'OpenSent');
    expect(r.states).toEqual(['Active', 'Connect']);
    expect(r.actions).toContain('connect');
  });

  it('RFC 4271 §4.2: a negotiated hold time of 0 runs neither hold nor keepalive timer', () => {
    const opts = { ...OPTS, negotiatedHoldTime: 0 };
    const open = fsmStep('OpenSent', { type: 'BGPOpen', holdTime: 0 }, opts);
    expect(open.actions.map(describeAction)).toEqual(['stop connect-retry', 'send KEEPALIVE', 'stop hold']);
    expect(fsmStep('OpenConfirm', { type: 'KeepAliveMsg' }, opts).actions.map(describeAction)).toEqual(['established']);
    expect(fsmStep('Established', { type: 'KeepAliveMsg' }, opts).actions).toEqual([]);
    expect(fsmStep('Established', { type: 'UpdateMsg' }, opts).actions.map(describeAction)).toEqual(['process UPDATE']);
  });

  it('RFC 4271 §10: keepalive is a third of the negotiated hold time (3 s -> 1 s)', () => {
    const r = fsmStep('OpenSent', { type: 'BGPOpen', holdTime: 3 }, OPTS);
    expect(r.actions.map(describeAction)).toContain('start keepalive 1');
    expect(r.actions.map(describeAction)).toContain('start hold 3');
  });

  it('RFC 8203: ManualStop in Established carries the shutdown communication in the Cease', () => {
    const data = new Uint8Array([3, 0x62, 0x79, 0x65]);
    const r = fsmStep('Established', { type: 'ManualStop', data }, OPTS);
    const n = r.actions.find((a) => a.type === 'send-notification');
    expect(n).toEqual({ type: 'send-notification', code: 6, subcode: 2, data });
  });

  it('RFC 6608 §3: an UPDATE before Established is an FSM Error with the state-specific subcode', () => {
    expect(run([{ type: 'UpdateMsg' }], OPTS, 'OpenSent').actions[0]).toBe('send NOTIFICATION 5/1');
    expect(run([{ type: 'UpdateMsg' }], OPTS, 'OpenConfirm').actions[0]).toBe('send NOTIFICATION 5/2');
    expect(run([{ type: 'BGPOpen', holdTime: 9 }], OPTS, 'Established').actions[0]).toBe('send NOTIFICATION 5/3');
  });

  it('§8.2.2 invariants hold for any event sequence', () => {
    const arbEvent = fc.constantFrom(...FSM_EVENT_TYPES).map(sample);
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 40 }), fc.boolean(), (events, passive) => {
        let state: FsmState = 'Idle';
        for (const e of events) {
          const r = fsmStep(state, e, { ...OPTS, passive });
          const kinds = r.actions.map((a) => a.type);
          // Routes are withdrawn exactly when Established is left.
          expect(kinds.includes('session-down')).toBe(state === 'Established' && r.state !== 'Established');
          if (r.state === 'Idle' && state !== 'Idle') expect(kinds).toContain('drop-connection');
          // A NOTIFICATION is only ever sent on a connection whose OPEN went out.
          if (kinds.includes('send-notification')) expect(['OpenSent', 'OpenConfirm', 'Established']).toContain(state);
          if (passive) expect(kinds).not.toContain('connect');
          // A NOTIFICATION always precedes the drop that would lose it.
          const n = kinds.indexOf('send-notification');
          if (n >= 0) expect(n).toBeLessThan(kinds.indexOf('drop-connection'));
          state = r.state;
        }
      }),
      { numRuns: 500 },
    );
  });
});
