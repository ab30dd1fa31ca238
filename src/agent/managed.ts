import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

/**
 * The agent's record of the tunnel interfaces it created, next to its control
 * socket. At start it lets the agent remove tunnels of neighbors deleted from
 * the config while it was down, and nothing else: interfaces it never made are
 * never touched.
 */
export function managedInterfacesFile(controlSocket: string): {
  read(): Promise<string[]>;
  write(names: string[]): Promise<void>;
} {
  const file = join(dirname(controlSocket), `${basename(controlSocket).replace(/\.sock$/, '')}.interfaces.json`);
  return {
    async read() {
      try {
        const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
        return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
      } catch {
        return [];
      }
    },
    async write(names) {
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.tmp`;
      await writeFile(tmp, JSON.stringify(names));
      await rename(tmp, file);
    },
  };
}
