/**
 * CandidateSets against a model (a Map of arrays): any interleaving of
 * create, push (past every capacity), removeAt, swap and delete keeps each
 * set's members, order and fields, also when runs and set numbers are reused.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { CandidateSets } from '#bgp/rib/candidate-sets';
import { DECISION_STEPS } from '#bgp/rib/decision';

type Op =
  | { kind: 'create'; a: number; b: number; c: number }
  | { kind: 'push'; set: number; slot: number }
  | { kind: 'remove'; set: number; at: number }
  | { kind: 'swap'; set: number; i: number; j: number }
  | { kind: 'fields'; set: number; step: number; total: boolean; backup: number }
  | { kind: 'delete'; set: number };

const slot = fc.integer({ min: 0, max: 1000 });
const pick = fc.nat({ max: 1000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('create' as const), a: slot, b: slot, c: slot }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), set: pick, slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), set: pick, at: pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swap' as const), set: pick, i: pick, j: pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fields' as const), set: pick, step: fc.nat({ max: DECISION_STEPS.length - 1 }), total: fc.boolean(), backup: fc.integer({ min: -1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), set: pick }) },
);

interface ModelSet {
  members: number[];
  step: (typeof DECISION_STEPS)[number];
  total: boolean;
  backup: number;
}

describe('CandidateSets', () => {
  test('matches a map-of-arrays model under any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const sets = new CandidateSets();
        const model = new Map<number, ModelSet>();
        const ids = (): number[] => [...model.keys()];
        for (const op of ops) {
          const live = ids();
          if (op.kind === 'create') {
            const id = sets.create(op.a, op.b, op.c);
            expect(model.has(id)).toBe(false);
            model.set(id, { members: [op.a, op.b, op.c], step: sets.step(id), total: false, backup: -1 });
            continue;
          }
          if (live.length === 0) continue;
          const id = live[op.set % live.length]!;
          const m = model.get(id)!;
          switch (op.kind) {
            case 'push':
              sets.push(id, op.slot);
              m.members.push(op.slot);
              break;
            case 'remove': {
              if (m.members.length === 0) break;
              const at = op.at % m.members.length;
              sets.removeAt(id, at);
              m.members.splice(at, 1);
              break;
            }
            case 'swap': {
              if (m.members.length === 0) break;
              const i = op.i % m.members.length;
              const j = op.j % m.members.length;
              sets.swap(id, i, j);
              [m.members[i], m.members[j]] = [m.members[j]!, m.members[i]!];
              break;
            }
            case 'fields':
              m.step = DECISION_STEPS[op.step]!;
              m.total = op.total;
              m.backup = op.backup;
              sets.setStep(id, m.step);
              sets.setTotal(id, m.total);
              sets.setBackup(id, m.backup);
              break;
            case 'delete':
              sets.delete(id);
              model.delete(id);
              break;
          }
        }
        expect(sets.size).toBe(model.size);
        for (const [id, m] of model) {
          expect(sets.list(id)).toEqual(m.members);
          expect(sets.countOf(id)).toBe(m.members.length);
          for (let i = 0; i < m.members.length; i++) expect(sets.indexOf(id, m.members[i]!)).toBe(m.members.indexOf(m.members[i]!));
          expect(sets.step(id)).toBe(m.step);
          expect(sets.total(id)).toBe(m.total);
          expect(sets.backup(id)).toBe(m.backup);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a set grows past every capacity and its old runs are reused', () => {
    const sets = new CandidateSets();
    const a = sets.create(1, 2, 3);
    for (let s = 4; s <= 40; s++) sets.push(a, s);
    expect(sets.list(a)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // A new set takes a freed run of the smallest capacity and keeps its own members.
    const b = sets.create(7, 8, 9);
    expect(sets.list(b)).toEqual([7, 8, 9]);
    expect(sets.list(a)).toHaveLength(40);
    sets.delete(a);
    const c = sets.create(4, 5, 6);
    expect(c).toBe(a);
    expect(sets.list(c)).toEqual([4, 5, 6]);
    expect(sets.list(b)).toEqual([7, 8, 9]);
  });
});
