/**
 * A problem the operator can fix (a bad topology file, a lab already running, an
 * agent that did not come up). The CLI prints the message and exits non-zero;
 * anything else thrown from src/lab is a bug.
 */
export class LabError extends Error {
  override readonly name = 'LabError';
}
