/**
 * What the tests of the agent's VPP side share (test/fib/vpp.test.ts,
 * vpp-pic.test.ts, test/vpp/dataplane.test.ts, test/wg/vpp.test.ts; the
 * tunnel specs also test/vpp/real-vpp.test.ts): a temporary directory for the
 * fakes' API sockets, undo steps run after each test, fake VPPs that must see
 * no protocol error, the agent's connection and dataplane on one, `until`,
 * WireGuard tunnel specs, an operator's loopback, and the fake's view of the
 * paths the VPP FIB backend writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { PIC_PRIMARY, type PicTable } from '#fib/vpp-pic';
import { SystemClock } from '#lib/clock';
import { silentLogger } from '#lib/log';
import { VppConnection, type VppConnectionOptions } from '#vpp/index';
import { VPP_OPTIONAL_MESSAGES, VPP_REQUIRED_MESSAGES, VppDataplane, type VppDataplaneOptions } from '#vpp/dataplane';
import { decodeKey, generatePrivateKey, publicKeyOf } from '#wg/keys';
import type { TunnelSpec } from '#wg/types';
import { FakeVpp, NH_IP4, NH_IP6, NO_INDEX, PATH_FLAG_RESOLVE_VIA_HOST, PATH_NORMAL, type FakeState, type FakeVppOptions, type FibPath } from './index.js';

export interface FakeVppHarness {
  /** Undo steps of the current test, run last first after it (or by cleanupNow). */
  readonly cleanup: (() => Promise<void>)[];
  /** Runs the undo steps so far, last first, within a test. */
  cleanupNow(): Promise<void>;
  /** A new API socket path in the file's temporary directory. */
  socketPath(): string;
  /** A fake VPP on a new socket, not started; after the test it must have seen no protocol error, and is stopped. */
  newFake(opts?: Partial<FakeVppOptions>): FakeVpp;
  /** newFake, started. */
  startFake(opts?: Partial<FakeVppOptions>): Promise<FakeVpp>;
  /**
   * The agent's connection to the VPP API at `socketPath` (all the messages
   * the dataplane needs, retried from 20 ms) and a VppDataplane on it (no
   * linux-cp, table 0), not started; closed after the test.
   */
  dataplane(
    socketPath: string,
    opts?: { connection?: Partial<VppConnectionOptions>; dataplane?: Partial<VppDataplaneOptions> },
  ): { connection: VppConnection; dp: VppDataplane };
}

/**
 * The harness of one test file: call it at the file's top level (it adds the
 * file's beforeAll / afterAll / afterEach hooks). `tmpPrefix` names its
 * temporary directory.
 */
export function fakeVppHarness(tmpPrefix: string): FakeVppHarness {
  const log = silentLogger();
  let dir = '';
  let sockets = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cleanup: (() => Promise<void>)[] = [];
  const cleanupNow = async (): Promise<void> => {
    for (const f of cleanup.splice(0).reverse()) await f();
  };
  afterEach(cleanupNow);
  const socketPath = (): string => join(dir, `api-${sockets++}.sock`);
  const newFake = (opts: Partial<FakeVppOptions> = {}): FakeVpp => {
    const fake = new FakeVpp({ socketPath: socketPath(), ...opts });
    cleanup.push(async () => {
      expect(fake.errors).toEqual([]);
      await fake.stop();
    });
    return fake;
  };
  return {
    cleanup,
    cleanupNow,
    socketPath,
    newFake,
    async startFake(opts) {
      const fake = newFake(opts);
      await fake.start();
      return fake;
    },
    dataplane(socketPath, opts = {}) {
      const connection = new VppConnection({
        socketPath,
        log,
        clock: new SystemClock(),
        required: VPP_REQUIRED_MESSAGES,
        optional: VPP_OPTIONAL_MESSAGES,
        minBackoffMs: 20,
        ...opts.connection,
      });
      const dp = new VppDataplane({ connection, log, linuxCp: false, linuxCpNetns: null, tableId: 0, hostLinks: null, ...opts.dataplane });
      cleanup.push(() => dp.close());
      return { connection, dp };
    },
  };
}

/** Polls `cond` every 5 ms, 1000 times at the most; throws when it never held. */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/**
 * Tunnel i's spec (one private key of ours for all, a new peer key per
 * call): interface `${ifacePrefix}${i}`, 10.255.i.0/31, fd00:255:i::/127
 * and fe80::i:1/64 (the peer's .1, ::1, fe80::i:2), endpoint
 * 198.51.100.(10+i):51820 from 198.51.100.1, listen port 51820+i; `over`
 * replaces fields.
 */
export function tunnelSpecs(ifacePrefix: string): (i: number, over?: Partial<TunnelSpec>) => TunnelSpec {
  const ourKey = decodeKey(generatePrivateKey());
  return (i, over = {}) => ({
    name: `n${i}`,
    interface: `${ifacePrefix}${i}`,
    privateKey: ourKey,
    peerPublicKey: publicKeyOf(generatePrivateKey()),
    endpoint: `198.51.100.${10 + i}:51820`,
    listenPort: 51820 + i,
    persistentKeepalive: 25, mtu: 1420,
    addresses: [`10.255.${i}.0/31`, `fd00:255:${i}::/127`, `fe80::${i}:1/64`],
    peerAddresses: [`10.255.${i}.1`, `fd00:255:${i}::1`, `fe80::${i}:2`],
    sourceAddress: '198.51.100.1',
    ...over,
  });
}

/** An operator's interface in the fake (setup): a loopback, up, with 192.0.2.1/24; its sw_if_index. */
export function operatorLoopback(s: FakeState): number {
  const lo = s.addInterface({ kind: 'loopback', adminUp: true });
  s.addDelAddress(lo.swIfIndex, true, false, 4, Buffer.from([192, 0, 2, 1]), 24);
  return lo.swIfIndex;
}

/**
 * A path via next hop `nh` as the fake keeps it (type NORMAL, weight 1, proto
 * the next hop's family): `sw` its interface, or NO_INDEX for a recursive
 * path resolved in `tableId`.
 */
export const pathVia = (nh: string, via: { sw: number; tableId?: number; preference?: number; flags?: number }): FibPath => ({
  swIfIndex: via.sw,
  tableId: via.tableId ?? 0,
  nh,
  proto: nh.includes(':') ? NH_IP6 : NH_IP4,
  weight: 1,
  preference: via.preference ?? 0,
  type: PATH_NORMAL,
  flags: via.flags ?? 0,
});

/** A learned route's path as the backend writes it: recursive through a PIC table (vpp-pic.ts). */
export const recursive = (nh: string, table: PicTable = PIC_PRIMARY): FibPath =>
  pathVia(nh, { sw: NO_INDEX, tableId: table.id, preference: table.preference, flags: PATH_FLAG_RESOLVE_VIA_HOST });
