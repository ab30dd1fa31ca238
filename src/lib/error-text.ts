/** What a log line or an operator's error says of a thrown value: an Error's message, else the value as text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
