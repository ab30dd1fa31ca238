/**
 * One typed error hierarchy for the VPP client. Callers branch on the class
 * (and on `retval` for API errors), never on message text.
 */
import { vnetApiErrorText } from './errno.js';

export class VppError extends Error {
  override name = 'VppError';
}

/** Bytes that do not fit a definition: truncated, out of range, wrong type. */
export class VppCodecError extends VppError {
  override name = 'VppCodecError';
}

/** A reply whose `retval` is negative: VPP ran the handler and refused. */
export class VppApiError extends VppError {
  override name = 'VppApiError';
  constructor(
    readonly request: string,
    readonly retval: number,
  ) {
    super(`${request}: ${vnetApiErrorText(retval)} (retval ${retval})`);
  }
}

export interface CrcMismatch {
  name: string;
  /** The CRC wgbgp was built against. */
  expected: string;
  /** The CRC this VPP advertises for the same name, or null: the message is absent. */
  actual: string | null;
}

/** The connected VPP does not speak the messages wgbgp needs (fact sheet §3). */
export class VppIncompatibleError extends VppError {
  override name = 'VppIncompatibleError';
  constructor(
    readonly mismatched: CrcMismatch[],
    readonly vppVersion?: string,
  ) {
    const lines = mismatched.map((m) =>
      m.actual === null
        ? `  ${m.name}_${m.expected}: missing (plugin not loaded, or message removed)`
        : `  ${m.name}_${m.expected}: VPP has ${m.name}_${m.actual} (message layout changed)`,
    );
    super(
      `VPP API incompatible with wgbgp: ${mismatched.length} message(s)\n${lines.join('\n')}`,
    );
  }
}

/** No reply in time: VPP silently drops messages it cannot parse or route. */
export class VppTimeoutError extends VppError {
  override name = 'VppTimeoutError';
  constructor(
    readonly request: string,
    readonly timeoutMs: number,
  ) {
    super(`${request}: no reply from VPP within ${timeoutMs} ms`);
  }
}

/** The connection closed (or was never up) while a request waited. */
export class VppClosedError extends VppError {
  override name = 'VppClosedError';
}

/** A message this VPP does not offer (an optional message, or one not in the table). */
export class VppUnavailableError extends VppError {
  override name = 'VppUnavailableError';
}
