/** The configuration: loading, validation, defaults and key helpers. */
export type { Config, MaxPrefixConfig, NeighborConfig, NeighborTunnelConfig, NeighborBgpConfig, WireguardBackendKind, FibBackendKind } from './types.js';
export type { ConfigIssue, LoadResult } from './issues.js';
export { byPosition, formatIssue, formatWarning } from './issues.js';
export { loadConfig, parseConfig, type ParseOptions } from './load.js';
export { resolveWireguardBackend, type ResolvedWireguardBackend } from './backend.js';
export {
  DEFAULT_CONTROL_SOCKET,
  DEFAULT_HOLD_TIME,
  DEFAULT_LINUX_PROTOCOL,
  DEFAULT_VPP_API_SOCKET,
  LINUX_MAIN_TABLE,
} from './defaults.js';
export { generatePrivateKey, publicKeyOf } from '#wg/keys';
