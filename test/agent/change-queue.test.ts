/**
 * The agent's change queue: a burst of Loc-RIB changes starts a flush every
 * few thousand changes instead of waiting for the debounce after the burst.
 */
import { describe, expect, it } from 'vitest';
import { ChangeQueue } from '#agent/agent';
import type { LocRibChange } from '#bgp/rib/index';

const changes = (n: number, from = 0): LocRibChange[] =>
  Array.from({ length: n }, (_, i) => ({ prefix: `10.0.${from + i}.0/24`, best: null, previous: null }));

const microtasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ChangeQueue', () => {
  it('below the threshold nothing flushes: the debounce will', async () => {
    let flushes = 0;
    const q = new ChangeQueue(100, () => flushes++);
    q.push(changes(99));
    await microtasks();
    expect(flushes).toBe(0);
    expect(q.take()).toHaveLength(99);
    expect(q.take()).toEqual([]);
  });

  it('crossing the threshold flushes once the current callback returns, not inside it, and once per crossing', async () => {
    const q: ChangeQueue = new ChangeQueue(100, () => taken.push(q.take().length));
    const taken: number[] = [];
    // One socket chunk: several UPDATEs decoded in one callback.
    q.push(changes(60));
    q.push(changes(60, 60));
    q.push(changes(60, 120));
    expect(taken).toEqual([]);
    await microtasks();
    expect(taken).toEqual([180]);
    q.push(changes(150, 180));
    await microtasks();
    expect(taken).toEqual([180, 150]);
  });

  it('keeps changes in order across takes', () => {
    const q = new ChangeQueue(1000, () => undefined);
    q.push(changes(2));
    q.push(changes(1, 2));
    expect(q.take().map((c) => c.prefix)).toEqual(['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']);
  });
});
