/**
 * rtnetlink from Node: a pure codec (codec.ts) and the socket I/O (socket.ts)
 * behind `Rtnetlink`, which implements the LinkOps and RouteOps the agent uses.
 */
export { Rtnetlink } from './rtnetlink.js';
export type { RtnetlinkOptions } from './rtnetlink.js';
export type { SocketOptions } from './socket.js';
export { NetlinkError, NetlinkDecodeError, errnoName, errnoText } from './errors.js';
export type { KernelRoute, LinkInfo, LinkOps, NexthopObject, NexthopWrite, RouteOp, RouteOpResult, RouteOps, RouteTag, RouteWrite, RouteWriteColumns } from './types.js';
