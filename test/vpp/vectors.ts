import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../vectors/vpp/', import.meta.url));

/**
 * Reads a hand-written vector: hex bytes, `#` comments, and `xx*N` for N
 * copies of byte xx (the long NUL padding of fixed strings).
 */
export function loadVector(name: string): Buffer {
  const bytes: number[] = [];
  for (const raw of readFileSync(DIR + name, 'utf8').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    for (const tok of line.split(/\s+/)) {
      const rep = /^([0-9a-fA-F]{2})\*(\d+)$/.exec(tok);
      if (rep) {
        for (let i = 0; i < Number(rep[2]); i++) bytes.push(parseInt(rep[1]!, 16));
        continue;
      }
      if (!/^([0-9a-fA-F]{2})+$/.test(tok)) throw new Error(`${name}: bad token ${tok}`);
      for (let i = 0; i < tok.length; i += 2) bytes.push(parseInt(tok.slice(i, i + 2), 16));
    }
  }
  return Buffer.from(bytes);
}

export function vectorNames(): string[] {
  return readdirSync(DIR).filter((f) => f.endsWith('.hex')).sort();
}
