import { describe, expect, it } from 'vitest';
import { eachLimit } from '#lib/pool';

describe('eachLimit', () => {
  it('runs every item, never more than the limit at once, started in order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await eachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5 + (i % 3)));
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
    await eachLimit([], 8, async () => undefined);
  });
});
