/**
 * A fake VPP binary-API server for tests (VPP cannot run on CI): real framing,
 * handshake and definitions shared with src/vpp, VPP's semantics for the
 * messages wgbgp uses, and optional realization of its state into Linux
 * (wireguard-go + kernel routes) so labs over it converge. See README.md.
 */
export { FakeVpp, type FakeVppOptions, type LoggedRequest, type ProtocolError, type ProtocolErrorKind } from './server.js';
export {
  FakeState,
  FIB_SOURCES,
  HOST_TAP,
  HOST_TUN,
  IF_ADMIN_UP,
  IF_LINK_UP,
  NH_IP4,
  NH_IP6,
  NO_INDEX,
  PATH_DROP,
  PATH_FLAG_RESOLVE_VIA_ATTACHED,
  PATH_FLAG_RESOLVE_VIA_HOST,
  PATH_LOCAL,
  PATH_NORMAL,
  PEER_DEAD,
  PEER_ESTABLISHED,
  RV,
  type FakeInterface,
  type FakeLcpPair,
  type FakePeer,
  type FakeWireguard,
  type FibEntry,
  type FibForwarding,
  type FibLeaf,
  type FibPath,
  type FibRouteView,
  type FibSource,
  type FibTable,
} from './state.js';
export { REALIZED_ROUTE_PROTO } from './realize.js';
