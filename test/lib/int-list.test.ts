/** IntList: the FIB's queue of prefix numbers (issue 10: no JS array of a million numbers). */
import { describe, expect, it } from 'vitest';
import { IntList } from '#lib/int-list';

describe('IntList', () => {
  it('keeps every entry in order across growth; a view is the entries so far', () => {
    const l = new IntList(2);
    for (let i = 0; i < 1000; i++) l.push(i * 3 - 7);
    expect(l.length).toBe(1000);
    const v = l.view();
    expect(v[0]).toBe(-7);
    expect(v[999]).toBe(2990);
    expect(v.length).toBe(1000);
    expect([...v.subarray(0, 3)]).toEqual([-7, -4, -1]);
    expect(new IntList().view().length).toBe(0);
  });
});
