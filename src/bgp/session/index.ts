/** The BGP session layer: TCP, timers, collisions — the only I/O in bgp/. */
export { BgpSession, RESTART_DETECT_AFTER_MS } from './session.js';
export { BgpListener, ListenerError } from './listener.js';
export type { ListenBinding, ListenerOptions, RefusalCounters } from './listener.js';
export { kernelTcpDrops, pendingHandshakes } from './netstat.js';
export type { KernelTcpDrops } from './netstat.js';
export { normalizeAddress } from './address.js';
export { notificationText, encodeShutdownCommunication, decodeShutdownCommunication } from './text.js';
export { expectedPeerRole, roleFromName, roleName } from './open.js';
export type { RoleName } from './open.js';
export type {
  AfiSafi,
  ConnectFn,
  Negotiated,
  NotificationRecord,
  SessionConfig,
  SessionCounters,
  SessionDeps,
  SessionDown,
  SessionHandler,
} from './types.js';
export type { FsmState } from '#bgp/fsm/index';
