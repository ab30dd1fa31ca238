/** The RFC 4271 §8 state machine: a pure step function over plain-data states, events and actions. */
export { fsmStep, keepaliveTimeFor, LARGE_HOLD_TIME, FsmErrorSubcode } from './fsm.js';
export { FSM_STATES, FSM_EVENT_TYPES } from './types.js';
export type {
  FsmState,
  FsmEvent,
  FsmEventType,
  FsmAction,
  FsmOptions,
  FsmStepResult,
  NotificationSpec,
  TimerName,
} from './types.js';
