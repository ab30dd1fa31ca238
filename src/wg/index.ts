/** The tunnel manager's public face: keys, link-local derivation, specs, UAPI, backends. */
export type { EnsureResult, TunnelSpec, TunnelStatus, WireguardBackend } from './types.js';
export {
  KEY_LENGTH,
  WgKeyError,
  decodeKey,
  encodeKey,
  generatePrivateKey,
  keyFromHex,
  keyToHex,
  publicKeyOf,
} from './keys.js';
export { linkLocalPair, type LinkLocalPair } from './linklocal.js';
export { hostRoutes, isUnnumbered, tunnelSpecs } from './spec.js';
export {
  DEFAULT_RUN_DIR,
  UapiClient,
  UapiConnectError,
  UapiErrnoError,
  UapiError,
  UapiProtocolError,
  lastHandshake,
  parseGetReply,
  parseSetReply,
  serializeGet,
  serializeSet,
  type UapiClientOptions,
  type UapiDevice,
  type UapiLine,
  type UapiPeer,
} from './uapi.js';
export {
  ALLOWED_IPS,
  WgBackendError,
  WgInterfaceConflictError,
  WgStartError,
  WireguardGoBackend,
  inotifyHint,
  normalizeEndpoint,
  uapiChanges,
  type UapiPlanInput,
  type WireguardGoDeps,
} from './wireguard-go.js';
export { VppWireguard, VppTunnelError, defaultListenPort, type VppWireguardDeps } from './vpp.js';
