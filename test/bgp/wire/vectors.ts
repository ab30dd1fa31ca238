/**
 * Golden vector loader: test/vectors/bgp/*.hex are hex text with a `#` comment
 * per field; comments and whitespace are dropped, the rest is the message.
 */
import { readFileSync, readdirSync } from 'node:fs';

const DIR = new URL('../../vectors/bgp/', import.meta.url);

export function parseHexText(text: string): Buffer {
  const hex = text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').replace(/\s+/g, ''))
    .join('');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error('vector is not whole hex octets');
  return Buffer.from(hex, 'hex');
}

export function loadVector(name: string): Buffer {
  return parseHexText(readFileSync(new URL(name, DIR), 'utf8'));
}

export function vectorNames(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.hex'))
    .sort();
}

/** A hex string with optional spaces, for inline test frames. */
export function hex(s: string): Buffer {
  return parseHexText(s);
}
