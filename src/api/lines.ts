/**
 * Newline-delimited framing for the control socket: one JSON value per line.
 * Chunks arrive split anywhere; a line is released once its '\n' has arrived.
 */
export class LineTooLongError extends Error {}

export class LineSplitter {
  private buf = '';

  /** `maxLine` bounds memory for a peer that never sends a newline (Infinity: no bound). */
  constructor(private readonly maxLine = Infinity) {}

  push(chunk: string): string[] {
    this.buf += chunk;
    const lines = this.buf.split('\n');
    this.buf = lines.pop() ?? '';
    if (this.buf.length > this.maxLine) throw new LineTooLongError(`line longer than ${this.maxLine} bytes`);
    return lines.filter((l) => l.trim() !== '');
  }

  /** Text after the last newline (a peer that closed mid-line). */
  get rest(): string {
    return this.buf;
  }
}
