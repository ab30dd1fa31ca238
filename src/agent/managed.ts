import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import type { LinuxRouteTag } from '#fib/types';

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
  const file = stateFile(controlSocket, 'interfaces');
  return {
    async read() {
      const parsed = await readJson(file);
      return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
    },
    write: (names) => writeJson(file, names),
  };
}

/**
 * The tag the agent's Linux routes carried when it last ran (table, protocol,
 * metric): a restart with another one moves them instead of orphaning them.
 */
export function fibTagFile(controlSocket: string): {
  read(): Promise<LinuxRouteTag | null>;
  write(tag: LinuxRouteTag): Promise<void>;
} {
  const file = stateFile(controlSocket, 'fib-tag');
  return {
    async read() {
      const v = await readJson(file);
      if (typeof v !== 'object' || v === null) return null;
      const { table, protocol, metric } = v as Record<string, unknown>;
      return typeof table === 'number' && typeof protocol === 'number' && typeof metric === 'number' ? { table, protocol, metric } : null;
    },
    write: (tag) => writeJson(file, { table: tag.table, protocol: tag.protocol, metric: tag.metric }),
  };
}

/**
 * The endpoint routes the recursion guard pinned, by neighbor. On VPP a pin
 * goes through an underlay interface, so the ownership rule cannot find it
 * again: a restarted agent removes, from this record, the pins of neighbors no
 * longer configured.
 */
export function pinsFile(controlSocket: string): {
  read(): Promise<PinRecord[]>;
  write(pins: PinRecord[]): Promise<void>;
} {
  const file = stateFile(controlSocket, 'pins');
  return {
    async read() {
      const v = await readJson(file);
      if (!Array.isArray(v)) return [];
      return v.filter(
        (p): p is PinRecord =>
          typeof p === 'object' && p !== null && typeof (p as PinRecord).neighbor === 'string' && typeof (p as PinRecord).prefix === 'string' && Array.isArray((p as PinRecord).nexthops),
      );
    },
    write: (pins) => writeJson(file, pins),
  };
}

export interface PinRecord {
  neighbor: string;
  prefix: string;
  nexthops: { address?: string; interface?: string }[];
}

function stateFile(controlSocket: string, what: string): string {
  return join(dirname(controlSocket), `${basename(controlSocket).replace(/\.sock$/, '')}.${what}.json`);
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, file);
}
