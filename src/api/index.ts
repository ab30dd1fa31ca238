/** The control socket: server (agent side), client (CLI side) and the JSON shapes. */
export type * from './types.js';
export { ControlServer, parseRequest, type ControlServerOptions } from './server.js';
export { ControlClient, ControlClientError, unreachableMessage, type ControlClientErrorKind } from './client.js';
