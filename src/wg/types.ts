/**
 * One WireGuard interface per neighbor, with exactly one peer whose allowed
 * prefixes are 0.0.0.0/0 and ::/0. The tunnel manager turns the config into
 * TunnelSpecs and asks a backend (wireguard-go, kernel, VPP) to realize them.
 */
export interface TunnelSpec {
  /** Neighbor name (config `neighbors[].name`). */
  name: string;
  /** Linux interface name (config `neighbors[].interface`). */
  interface: string;
  /** Our private key, 32 raw bytes. Never logged. */
  privateKey: Uint8Array;
  /** The neighbor's public key, base64. */
  peerPublicKey: string;
  /** "ip:port" / "[ip6]:port" or null (remote-access server style). */
  endpoint: string | null;
  listenPort: number | null;
  persistentKeepalive: number;
  /** The interface's MTU (config `neighbors[].mtu`). */
  mtu: number;
  /** Local addresses with length, including the link-local one ("fe80::…/64"). */
  addresses: string[];
  /** Remote tunnel addresses (no length), the peer's link-local included. */
  peerAddresses: string[];
  sourceAddress: string | null;
}

export interface TunnelStatus {
  name: string;
  interface: string;
  /** The backend's own name for it (wireguard-go/kernel: same as interface; VPP: "wg3"). */
  dataplaneInterface: string;
  publicKey: string;
  /** Current endpoint as the dataplane reports it (after roaming), or null while unknown. */
  endpoint: string | null;
  latestHandshake: Date | null;
  up: boolean;
  rxBytes: number | null;
  txBytes: number | null;
}

export type EnsureResult = 'created' | 'updated' | 'unchanged';

export interface WireguardBackend {
  readonly kind: 'wireguard-go' | 'kernel' | 'vpp';
  /** Interfaces of this backend that exist now (for adoption at start). */
  list(): Promise<string[]>;
  /**
   * Brings the tunnel to the spec. Creates what is missing, converges what
   * differs, never tears down a tunnel that already matches, and never
   * overwrites a roamed endpoint unless the configured endpoint changed.
   */
  ensure(spec: TunnelSpec, previous: TunnelSpec | null): Promise<EnsureResult>;
  remove(ifname: string): Promise<void>;
  status(spec: TunnelSpec): Promise<TunnelStatus | null>;
  /** Releases handles; tunnels stay (keep-on-stop) unless removed explicitly. */
  close(): Promise<void>;
}
