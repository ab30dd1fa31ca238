/**
 * The vocabulary of the RFC 4271 §8 state machine: states, the §8.1 events this
 * speaker uses, and the actions the machine asks its shell (the session) to do.
 * Everything is plain data so a table test can enumerate it.
 */

/** RFC 4271 §8.2.2 state names, spelled as the operator sees them in `neighbors`. */
export type FsmState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export const FSM_STATES: readonly FsmState[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

/** NOTIFICATION contents (RFC 4271 §4.5) an event carries or an action sends. */
export interface NotificationSpec {
  code: number;
  subcode: number;
  data: Uint8Array;
}

/**
 * RFC 4271 §8.1 events (the number in each comment is the RFC's event number).
 * Not used: the optional DelayOpen, DampPeerOscillations and TCP-validation
 * events (6, 7, 12-15, 20). RouteRefreshMsg is not in RFC 4271; RFC 6608 §3
 * names ROUTE-REFRESH among the messages that are unexpected before Established.
 */
export type FsmEvent =
  | { type: 'ManualStart' } // 1
  | { type: 'ManualStop'; data?: Uint8Array } // 2; data: RFC 8203 shutdown communication
  | { type: 'AutomaticStart' } // 3
  | { type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | { type: 'AutomaticStop'; subcode: number; data?: Uint8Array } // 8; Cease subcode (RFC 4486)
  | { type: 'ConnectRetryTimer_Expires' } // 9
  | { type: 'HoldTimer_Expires' } // 10
  | { type: 'KeepaliveTimer_Expires' } // 11
  | { type: 'Tcp_CR_Acked' } // 16: our connection attempt succeeded
  | { type: 'TcpConnectionConfirmed' } // 17: the peer's connection was accepted
  | { type: 'TcpConnectionFails' } // 18
  | { type: 'BGPOpen'; holdTime: number } // 19; holdTime: the negotiated value (§4.2)
  | { type: 'BGPHeaderErr'; notification: NotificationSpec } // 21
  | { type: 'BGPOpenMsgErr'; notification: NotificationSpec } // 22
  | { type: 'OpenCollisionDump' } // 23
  | { type: 'NotifMsgVerErr' } // 24
  | { type: 'NotifMsg' } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg' } // 27
  | { type: 'UpdateMsgErr'; notification: NotificationSpec } // 28
  | { type: 'RouteRefreshMsg' };

export type FsmEventType = FsmEvent['type'];

export const FSM_EVENT_TYPES: readonly FsmEventType[] = [
  'ManualStart',
  'ManualStop',
  'AutomaticStart',
  'ManualStart_with_PassiveTcpEstablishment',
  'AutomaticStart_with_PassiveTcpEstablishment',
  'AutomaticStop',
  'ConnectRetryTimer_Expires',
  'HoldTimer_Expires',
  'KeepaliveTimer_Expires',
  'Tcp_CR_Acked',
  'TcpConnectionConfirmed',
  'TcpConnectionFails',
  'BGPOpen',
  'BGPHeaderErr',
  'BGPOpenMsgErr',
  'OpenCollisionDump',
  'NotifMsgVerErr',
  'NotifMsg',
  'KeepAliveMsg',
  'UpdateMsg',
  'UpdateMsgErr',
  'RouteRefreshMsg',
];

export type TimerName = 'connect-retry' | 'hold' | 'keepalive';

/** What the shell must do, in order. Timers are (re)started from scratch by start-timer. */
export type FsmAction =
  | { type: 'connect' }
  | { type: 'drop-connection' }
  | { type: 'send-open' }
  | { type: 'send-keepalive' }
  | ({ type: 'send-notification' } & NotificationSpec)
  | { type: 'start-timer'; which: TimerName; seconds: number }
  | { type: 'stop-timer'; which: TimerName }
  | { type: 'process-update' }
  | { type: 'process-route-refresh' }
  | { type: 'established' }
  /** Left Established: the application withdraws the peer's routes (§8.2.2 "deletes all routes"). */
  | { type: 'session-down'; reason: string }
  | { type: 'increment-connect-retry-counter' }
  | { type: 'reset-connect-retry-counter' };

export interface FsmOptions {
  /** ConnectRetryTime in seconds (RFC 4271 §10 suggests 120; tunnels want less). */
  connectRetryTime: number;
  /**
   * The hold time negotiated on this connection (§4.2); read in OpenConfirm and
   * Established, where the OPEN exchange has fixed it. 0: no hold or keepalive timer.
   */
  negotiatedHoldTime: number;
  /** Never initiate a TCP connection: only accept the peer's. */
  passive: boolean;
  /** The "large value" hold timer while waiting for the peer's OPEN (§8.2.2 suggests 4 minutes). */
  largeHoldTime?: number;
}

export interface FsmStepResult {
  state: FsmState;
  actions: FsmAction[];
}
