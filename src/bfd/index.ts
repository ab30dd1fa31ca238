export { BfdDecodeError, BfdDiag, BfdState, decodeControl, encodeControl, diagText, stateName, type BfdControlPacket, type BfdStateName } from './codec.js';
export { BfdSession, SLOW_TX_US, type BfdTimers, type BfdEffects, type BfdNegotiated } from './session.js';
export { BfdEngine, REQUIRED_TTL, type BfdPeerSpec, type BfdStatus, type BfdLogLine } from './engine.js';
export { BfdService } from './service.js';
export { BFD_CONTROL_PORT } from './socket.js';
