import { CeaseSubcode } from '#bgp/wire/errors';
import { ErrorCode } from '#bgp/wire/types';
import type { FsmAction, FsmEvent, FsmOptions, FsmState, FsmStepResult, NotificationSpec } from './types.js';

/** RFC 4271 §8.2.2: "sets the HoldTimer to a large value (a value of 4 minutes is suggested)". */
export const LARGE_HOLD_TIME = 240;

/** RFC 6608 §3 FSM Error subcodes; 0 (Unspecified) covers non-message events such as a stale timer. */
export const FsmErrorSubcode = {
  Unspecified: 0,
  UnexpectedInOpenSent: 1,
  UnexpectedInOpenConfirm: 2,
  UnexpectedInEstablished: 3,
} as const;

const EMPTY = new Uint8Array(0);

/** RFC 4271 §4.4/§10: KEEPALIVEs at one third of the hold time; hold time 0 sends none (§4.2). */
export function keepaliveTimeFor(holdTime: number): number {
  return Math.floor(holdTime / 3);
}

function notify(code: number, subcode: number, data: Uint8Array = EMPTY): FsmAction {
  return { type: 'send-notification', code, subcode, data };
}

function fromSpec(n: NotificationSpec): FsmAction {
  return notify(n.code, n.subcode, n.data);
}

interface IdleExit {
  /** NOTIFICATION to send before the connection is dropped. */
  notification?: FsmAction;
  /** ConnectRetryCounter: ManualStop zeroes it, most failures add one, a few leave it. */
  counter: 'increment' | 'reset' | 'keep';
  /** Set when leaving Established: the routes learned from the peer go. */
  downReason?: string;
}

/**
 * The common tail of every §8.2.2 transition to Idle: "sends the NOTIFICATION…,
 * sets the ConnectRetryTimer to zero, releases all BGP resources, drops the TCP
 * connection, increments/zeroes the ConnectRetryCounter". Releasing resources
 * includes the hold and keepalive timers.
 */
function toIdle(exit: IdleExit): FsmStepResult {
  const actions: FsmAction[] = [];
  if (exit.notification) actions.push(exit.notification);
  actions.push(
    { type: 'drop-connection' },
    { type: 'stop-timer', which: 'connect-retry' },
    { type: 'stop-timer', which: 'hold' },
    { type: 'stop-timer', which: 'keepalive' },
  );
  if (exit.counter === 'increment') actions.push({ type: 'increment-connect-retry-counter' });
  if (exit.counter === 'reset') actions.push({ type: 'reset-connect-retry-counter' });
  if (exit.downReason !== undefined) actions.push({ type: 'session-down', reason: exit.downReason });
  return { state: 'Idle', actions };
}

function stay(state: FsmState, actions: FsmAction[] = []): FsmStepResult {
  return { state, actions };
}

function isStart(e: FsmEvent): boolean {
  return (
    e.type === 'ManualStart' ||
    e.type === 'AutomaticStart' ||
    e.type === 'ManualStart_with_PassiveTcpEstablishment' ||
    e.type === 'AutomaticStart_with_PassiveTcpEstablishment'
  );
}

function isMessage(e: FsmEvent): boolean {
  return (
    e.type === 'BGPOpen' ||
    e.type === 'BGPOpenMsgErr' ||
    e.type === 'KeepAliveMsg' ||
    e.type === 'UpdateMsg' ||
    e.type === 'UpdateMsgErr' ||
    e.type === 'RouteRefreshMsg'
  );
}

/** TCP established (§8.2.2 Connect/Active, DelayOpen FALSE): send OPEN, wait for the peer's under the large hold timer. */
function tcpUp(opts: FsmOptions): FsmStepResult {
  return {
    state: 'OpenSent',
    actions: [
      { type: 'stop-timer', which: 'connect-retry' },
      { type: 'send-open' },
      { type: 'start-timer', which: 'hold', seconds: opts.largeHoldTime ?? LARGE_HOLD_TIME },
    ],
  };
}

/** RFC 4271 §8.2.2 Idle: everything but a start event is ignored; connections are refused. */
function idle(e: FsmEvent, opts: FsmOptions): FsmStepResult {
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
      // `passive` means never initiate, whichever start event the shell sends.
      if (opts.passive) return { state: 'Active', actions: [{ type: 'reset-connect-retry-counter' }] };
      return {
        state: 'Connect',
        actions: [
          { type: 'reset-connect-retry-counter' },
          { type: 'start-timer', which: 'connect-retry', seconds: opts.connectRetryTime },
          { type: 'connect' },
        ],
      };
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment': {
      const actions: FsmAction[] = [{ type: 'reset-connect-retry-counter' }];
      // A never-initiating speaker has no use for the retry timer (it would only lead to Connect).
      if (!opts.passive) actions.push({ type: 'start-timer', which: 'connect-retry', seconds: opts.connectRetryTime });
      return { state: 'Active', actions };
    }
    default:
      return stay('Idle');
  }
}

/** RFC 4271 §8.2.2 Connect: waiting for our TCP connection attempt. No OPEN was sent, so no NOTIFICATION either. */
function connect(e: FsmEvent, opts: FsmOptions): FsmStepResult {
  if (isStart(e)) return stay('Connect');
  switch (e.type) {
    case 'ManualStop':
      return toIdle({ counter: 'reset' });
    case 'ConnectRetryTimer_Expires':
      if (opts.passive) {
        return { state: 'Active', actions: [{ type: 'drop-connection' }, { type: 'stop-timer', which: 'connect-retry' }] };
      }
      return stay('Connect', [
        { type: 'drop-connection' },
        { type: 'start-timer', which: 'connect-retry', seconds: opts.connectRetryTime },
        { type: 'connect' },
      ]);
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return tcpUp(opts);
    case 'TcpConnectionFails':
      return toIdle({ counter: 'keep' });
    default:
      // BGPHeaderErr, BGPOpenMsgErr, NotifMsgVerErr and "any other event": SendNOTIFICATIONwithoutOPEN is FALSE.
      return toIdle({ counter: 'increment' });
  }
}

/** RFC 4271 §8.2.2 Active: listening for the peer's connection. */
function active(e: FsmEvent, opts: FsmOptions): FsmStepResult {
  if (isStart(e)) return stay('Active');
  switch (e.type) {
    case 'ManualStop':
      return toIdle({ counter: 'reset' });
    case 'ConnectRetryTimer_Expires':
      if (opts.passive) return stay('Active');
      return {
        state: 'Connect',
        actions: [{ type: 'start-timer', which: 'connect-retry', seconds: opts.connectRetryTime }, { type: 'connect' }],
      };
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return tcpUp(opts);
    default:
      // TcpConnectionFails, header/OPEN errors, NotifMsgVerErr and any other event. (The RFC restarts
      // the ConnectRetryTimer on TcpConnectionFails, but Idle ignores it, so it is stopped here.)
      return toIdle({ counter: 'increment' });
  }
}

/** RFC 4271 §8.2.2 OpenSent: our OPEN is out; waiting for the peer's. */
function openSent(e: FsmEvent, opts: FsmOptions): FsmStepResult {
  if (isStart(e)) return stay('OpenSent');
  switch (e.type) {
    case 'ManualStop':
      return toIdle({ notification: notify(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown, e.data), counter: 'reset' });
    case 'AutomaticStop':
      return toIdle({ notification: notify(ErrorCode.Cease, e.subcode, e.data), counter: 'increment' });
    case 'HoldTimer_Expires':
      return toIdle({ notification: notify(ErrorCode.HoldTimerExpired, 0), counter: 'increment' });
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // A second connection: tracked by collision detection (§6.8) until its OPEN arrives.
      return stay('OpenSent');
    case 'TcpConnectionFails': {
      const actions: FsmAction[] = [{ type: 'drop-connection' }, { type: 'stop-timer', which: 'hold' }];
      if (!opts.passive) actions.push({ type: 'start-timer', which: 'connect-retry', seconds: opts.connectRetryTime });
      return { state: 'Active', actions };
    }
    case 'BGPOpen': {
      const actions: FsmAction[] = [{ type: 'stop-timer', which: 'connect-retry' }, { type: 'send-keepalive' }];
      if (e.holdTime > 0) {
        actions.push(
          { type: 'start-timer', which: 'hold', seconds: e.holdTime },
          { type: 'start-timer', which: 'keepalive', seconds: keepaliveTimeFor(e.holdTime) },
        );
      } else {
        // §4.2: a negotiated hold time of zero disables both timers; the large one must go too.
        actions.push({ type: 'stop-timer', which: 'hold' });
      }
      return { state: 'OpenConfirm', actions };
    }
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle({ notification: fromSpec(e.notification), counter: 'increment' });
    case 'OpenCollisionDump':
      return toIdle({ notification: notify(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution), counter: 'increment' });
    case 'NotifMsgVerErr':
      return toIdle({ counter: 'keep' });
    case 'NotifMsg':
      // §8.2.2 lists event 25 under "any other event" here, which would answer a NOTIFICATION with
      // one; the peer has already closed (§4.5), so the connection is just dropped.
      return toIdle({ counter: 'increment' });
    default:
      return toIdle({
        notification: notify(
          ErrorCode.Fsm,
          isMessage(e) ? FsmErrorSubcode.UnexpectedInOpenSent : FsmErrorSubcode.Unspecified,
        ),
        counter: 'increment',
      });
  }
}

/** RFC 4271 §8.2.2 OpenConfirm: OPENs exchanged; waiting for the peer's KEEPALIVE. */
function openConfirm(e: FsmEvent, opts: FsmOptions): FsmStepResult {
  if (isStart(e)) return stay('OpenConfirm');
  const hold = opts.negotiatedHoldTime;
  switch (e.type) {
    case 'ManualStop':
      return toIdle({ notification: notify(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown, e.data), counter: 'reset' });
    case 'AutomaticStop':
      return toIdle({ notification: notify(ErrorCode.Cease, e.subcode, e.data), counter: 'increment' });
    case 'HoldTimer_Expires':
      return toIdle({ notification: notify(ErrorCode.HoldTimerExpired, 0), counter: 'increment' });
    case 'KeepaliveTimer_Expires':
      return stay('OpenConfirm', keepaliveTick(hold));
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return stay('OpenConfirm');
    case 'TcpConnectionFails':
    case 'NotifMsg':
      return toIdle({ counter: 'increment' });
    case 'NotifMsgVerErr':
      return toIdle({ counter: 'keep' });
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle({ notification: fromSpec(e.notification), counter: 'increment' });
    case 'OpenCollisionDump':
      return toIdle({ notification: notify(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution), counter: 'increment' });
    case 'KeepAliveMsg':
      return {
        state: 'Established',
        actions: [...(hold > 0 ? [{ type: 'start-timer', which: 'hold', seconds: hold } as const] : []), { type: 'established' }],
      };
    default:
      // A second OPEN on this connection is a protocol error: collisions between two
      // connections are resolved by the session (§6.8) before either reaches here.
      return toIdle({
        notification: notify(
          ErrorCode.Fsm,
          isMessage(e) ? FsmErrorSubcode.UnexpectedInOpenConfirm : FsmErrorSubcode.Unspecified,
        ),
        counter: 'increment',
      });
  }
}

function keepaliveTick(hold: number): FsmAction[] {
  const actions: FsmAction[] = [{ type: 'send-keepalive' }];
  if (hold > 0) actions.push({ type: 'start-timer', which: 'keepalive', seconds: keepaliveTimeFor(hold) });
  return actions;
}

/** RFC 4271 §8.2.2 Established. */
function established(e: FsmEvent, opts: FsmOptions): FsmStepResult {
  if (isStart(e)) return stay('Established');
  const hold = opts.negotiatedHoldTime;
  const restartHold: FsmAction[] = hold > 0 ? [{ type: 'start-timer', which: 'hold', seconds: hold }] : [];
  switch (e.type) {
    case 'ManualStop':
      return toIdle({
        notification: notify(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown, e.data),
        counter: 'reset',
        downReason: 'administratively stopped',
      });
    case 'AutomaticStop':
      return toIdle({ notification: notify(ErrorCode.Cease, e.subcode, e.data), counter: 'increment', downReason: 'stopped' });
    case 'HoldTimer_Expires':
      return toIdle({ notification: notify(ErrorCode.HoldTimerExpired, 0), counter: 'increment', downReason: 'hold timer expired' });
    case 'KeepaliveTimer_Expires':
      return stay('Established', keepaliveTick(hold));
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return stay('Established');
    case 'OpenCollisionDump':
      return toIdle({
        notification: notify(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution),
        counter: 'increment',
        downReason: 'connection collision',
      });
    case 'TcpConnectionFails':
      return toIdle({ counter: 'increment', downReason: 'TCP connection closed' });
    case 'NotifMsg':
    case 'NotifMsgVerErr':
      return toIdle({ counter: 'increment', downReason: 'NOTIFICATION received' });
    case 'KeepAliveMsg':
      return stay('Established', restartHold);
    case 'UpdateMsg':
      return stay('Established', [{ type: 'process-update' }, ...restartHold]);
    case 'RouteRefreshMsg':
      return stay('Established', [{ type: 'process-route-refresh' }]);
    case 'UpdateMsgErr':
      return toIdle({ notification: fromSpec(e.notification), counter: 'increment', downReason: 'UPDATE message error' });
    case 'BGPHeaderErr':
      // §8.2.2 files event 21 under "any other event" (FSM Error), but §6.1 says a header error is
      // reported as such; the peer learns more from the real code.
      return toIdle({ notification: fromSpec(e.notification), counter: 'increment', downReason: 'message header error' });
    default:
      // BGPOpen / BGPOpenMsgErr (an OPEN on an established connection), ConnectRetryTimer_Expires.
      return toIdle({
        notification: notify(
          ErrorCode.Fsm,
          isMessage(e) ? FsmErrorSubcode.UnexpectedInEstablished : FsmErrorSubcode.Unspecified,
        ),
        counter: 'increment',
        downReason: 'FSM error',
      });
  }
}

/**
 * One step of the RFC 4271 §8 state machine for one connection. Pure: the
 * caller applies the returned actions in order and keeps the ConnectRetryCounter
 * and timers. Without DelayOpen or peer-oscillation damping (§8.1.1 options FALSE).
 */
export function fsmStep(state: FsmState, event: FsmEvent, opts: FsmOptions): FsmStepResult {
  switch (state) {
    case 'Idle':
      return idle(event, opts);
    case 'Connect':
      return connect(event, opts);
    case 'Active':
      return active(event, opts);
    case 'OpenSent':
      return openSent(event, opts);
    case 'OpenConfirm':
      return openConfirm(event, opts);
    case 'Established':
      return established(event, opts);
  }
}
