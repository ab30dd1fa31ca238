/**
 * Test-wide setup. A decoded UPDATE (wire/received.ts) keeps its prefix lists
 * behind getters, made when read, so they are not own properties; equality
 * compares it as the plain message it stands for (toPlain), as if the lists
 * had been there all along.
 */
import { expect } from 'vitest';
import type { Tester } from '@vitest/expect';
import { ReceivedReach, ReceivedUnreach, ReceivedUpdate, toPlain } from '#bgp/wire/received';

function plain(v: unknown): unknown {
  if (v instanceof ReceivedUpdate) return toPlain(v);
  if (v instanceof ReceivedReach || v instanceof ReceivedUnreach) return v.toJSON();
  return v;
}

const receivedMessages: Tester = function (a, b, customTesters) {
  const received = (v: unknown): boolean => v instanceof ReceivedUpdate || v instanceof ReceivedReach || v instanceof ReceivedUnreach;
  if (!received(a) && !received(b)) return undefined;
  return this.equals(plain(a), plain(b), customTesters);
};

expect.addEqualityTesters([receivedMessages]);
