/** The control socket: server (agent side), client (CLI side) and the JSON shapes. */
export type * from './types.js';
export { ControlServer, isChanging, parseRequest, type ControlAccess, type ControlServerOptions } from './server.js';
export { CHANGING_COMMANDS } from './types.js';
export { ControlClient, ControlClientError, unreachableMessage, type ControlClientErrorKind } from './client.js';
