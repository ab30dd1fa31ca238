/**
 * The FRR driver's errors. Every message is redacted before it is built:
 * OSPF keys never reach a log line or a status string through them.
 */
export class FrrError extends Error {
  override readonly name: string = 'FrrError';
}

/** FRR is not installed, not running, or a daemon the configuration needs is not running. */
export class FrrUnavailableError extends FrrError {
  override readonly name = 'FrrUnavailableError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The desired configuration cannot be rendered (one "path: reason" per issue). */
export class FrrDesiredError extends FrrError {
  override readonly name = 'FrrDesiredError';
  constructor(readonly issues: readonly string[]) {
    super(`invalid OSPF configuration: ${issues.join('; ')}`);
  }
}

/** `fpm …` commands need zebra started with `-M dplane_fpm_nl`. */
export class FrrFpmModuleError extends FrrError {
  override readonly name = 'FrrFpmModuleError';
  constructor() {
    super('FPM module not loaded in zebra (start zebra with -M dplane_fpm_nl)');
  }
}

/** vtysh refused a command (non-zero exit or an error line); `output` is redacted. */
export class FrrCommandError extends FrrError {
  override readonly name = 'FrrCommandError';
  constructor(
    message: string,
    readonly output: string,
    /** Whether the driver brought the owned configuration back to what it was before. */
    readonly rolledBack: boolean,
  ) {
    super(message);
  }
}

/** After an apply FRR's running configuration still differs: the commands that would remain (redacted). */
export class FrrVerifyError extends FrrError {
  override readonly name = 'FrrVerifyError';
  constructor(
    message: string,
    readonly remaining: readonly string[],
  ) {
    super(message);
  }
}

/** A vtysh call did not finish in time (it was killed). */
export class FrrTimeoutError extends FrrError {
  override readonly name = 'FrrTimeoutError';
}

/** vtysh answered something the driver cannot read (not the JSON of FRR 8.4). */
export class FrrOutputError extends FrrError {
  override readonly name = 'FrrOutputError';
}

/** The configuration is applied but `write memory` failed: an FRR restart would lose it. */
export class FrrPersistError extends FrrError {
  override readonly name = 'FrrPersistError';
}
